import type { Command } from 'commander';

/** Placeholder until the replay tool lands: registers `replay` on the CLI. */
export function registerReplayCommand(program: Command): void {
  program
    .command('replay')
    .description('replay Zeek log files to a gateway as the NCSA plugin would (not implemented yet)')
    .argument('<files...>')
    .action(() => {
      process.stderr.write('replay is not implemented yet\n');
      process.exit(1);
    });
}
