import fs from 'node:fs';
import { join, resolve } from 'node:path';

/*
 * The backlog marker: a small file in a sink's spool directory naming older spool directories
 * whose records go out before this directory's own. A reload that moves a sink's spool.dir
 * writes it in the new directory while the old one is still being delivered, so that a stop
 * (SIGTERM, crash, restart) before the old directory is emptied does not strand its records:
 * the next start finds the marker and delivers those directories first, in order.
 *
 * Written atomically (temporary file, fsync, rename, fsync of the directory): a reader sees the
 * old list or the new one, never a mix. Removed once the list is empty.
 */
export const MARKER_FILE = 'deliver-first.json';
const MARKER_TMP = `${MARKER_FILE}.tmp`;
const VERSION = 1;

/** What a spool directory's marker says. */
export type MarkerRead =
  | { kind: 'none' }
  | { kind: 'dirs'; dirs: string[] }
  /** A file that is not a marker this version can read (torn, garbage, a future format): left as it is. */
  | { kind: 'unreadable'; problem: string };

/** True for the marker's own file names, which are not foreign to a spool directory. */
export function isMarkerFile(name: string): boolean {
  return name === MARKER_FILE || name === MARKER_TMP;
}

/**
 * Records that `dirs` (oldest first) are delivered before `dir`'s own records; an empty list
 * removes the marker. Throws when the file cannot be written (the caller logs it).
 */
export function writeMarker(dir: string, dirs: readonly string[]): void {
  if (dirs.length === 0) {
    removeMarker(dir);
    return;
  }
  const tmp = join(dir, MARKER_TMP);
  const body = `${JSON.stringify({ version: VERSION, deliverFirst: dirs.map((d) => resolve(d)) })}\n`;
  const fd = fs.openSync(tmp, 'w');
  try {
    fs.writeFileSync(fd, body);
    fs.fdatasyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, join(dir, MARKER_FILE));
  syncDirectory(dir);
}

/** Removes `dir`'s marker (and a temporary one left by a crash), if any. */
export function removeMarker(dir: string): void {
  const existed = fs.existsSync(join(dir, MARKER_FILE));
  fs.rmSync(join(dir, MARKER_TMP), { force: true });
  fs.rmSync(join(dir, MARKER_FILE), { force: true });
  if (existed) syncDirectory(dir);
}

/** Reads `dir`'s marker. Never throws: a marker that cannot be read or parsed says why. */
export function readMarker(dir: string): MarkerRead {
  let text: string;
  try {
    text = fs.readFileSync(join(dir, MARKER_FILE), 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return { kind: 'none' };
    return { kind: 'unreadable', problem: (err as Error).message };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    return { kind: 'unreadable', problem: `not JSON: ${(err as Error).message}` };
  }
  const m = parsed as { version?: unknown; deliverFirst?: unknown } | null;
  if (typeof m !== 'object' || m === null || m.version !== VERSION) {
    return { kind: 'unreadable', problem: `not a version ${VERSION} marker` };
  }
  const dirs = m.deliverFirst;
  if (!Array.isArray(dirs) || dirs.some((d) => typeof d !== 'string' || d === '')) {
    return { kind: 'unreadable', problem: 'deliverFirst is not a list of directories' };
  }
  return { kind: 'dirs', dirs: dirs as string[] };
}

/** Makes a rename or removal in `dir` survive a power cut. */
function syncDirectory(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}
