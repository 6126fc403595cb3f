import fs from 'node:fs';
import { join, resolve } from 'node:path';
import type { Logger } from '../../ops/log.js';
import { HandedOverStore } from '../handed-over-store.js';
import type { MessageStore } from '../store.js';
import { MARKER_FILE, readMarker, writeMarker } from './marker.js';
import { SpoolStore } from './store.js';

/*
 * A sink's spool directory with a backlog: older spool directories (named by its marker, see
 * marker.ts) whose records go out first. A reload that moves spool.dir builds this chain in
 * memory (HandedOverStore) and records it in the marker; a start rebuilds it from the marker.
 */

export interface BacklogDeps {
  logger: Logger;
  /** Why `dir` must not be opened here (another spool already has it open), or undefined. */
  busy: (dir: string) => string | undefined;
  /** Runs once a backlog directory's records were all delivered (it removes the directory). */
  onEmptied: (store: MessageStore) => Promise<void>;
}

/**
 * `own` behind the older directories its marker names, which are delivered first, in order.
 * A named directory that no longer exists or holds no records is dropped from the marker (and an
 * empty spool's files removed); one that cannot be opened now (busy, EACCES) stays in the marker.
 * A marker that cannot be parsed is logged and left alone. Never throws.
 */
export async function withBacklog(own: SpoolStore, deps: BacklogDeps): Promise<MessageStore> {
  const dir = own.location;
  const { logger } = deps;
  const marker = readMarker(dir);
  if (marker.kind === 'none') return own;
  if (marker.kind === 'unreadable') {
    logger.error(
      { spool: dir, marker: join(dir, MARKER_FILE), problem: marker.problem },
      'spool backlog marker cannot be read: left as it is, the directories it names are not delivered (fix or remove it)',
    );
    return own;
  }
  const kept: string[] = [];
  const opened: SpoolStore[] = [];
  for (const d of marker.dirs) {
    if (sameDirectory(d, dir) || kept.some((k) => sameDirectory(k, d))) {
      logger.warn({ spool: dir, listed: d }, 'spool backlog marker names this directory itself or one twice: dropped from it');
      continue;
    }
    if (!fs.existsSync(d)) {
      logger.info({ spool: dir, listed: d }, 'spool backlog marker names a directory that no longer exists: dropped from it');
      continue;
    }
    kept.push(d);
    const busy = deps.busy(d);
    if (busy !== undefined) {
      logger.info({ spool: dir, listed: d, busy }, 'spool backlog directory not opened here: another spool has it open');
      continue;
    }
    let store: SpoolStore;
    try {
      store = await SpoolStore.open({ ...own.options, dir: d }, { logger });
    } catch (err) {
      logger.error({ spool: dir, listed: d, err: (err as Error).message }, 'spool backlog directory cannot be opened: its records wait there (kept in the marker)');
      continue;
    }
    if (store.records === 0) {
      kept.pop();
      await removeDelivered(store).catch((err: Error) => logger.error({ listed: d, err: err.message }, 'spool backlog directory is empty but could not be removed'));
      logger.info({ spool: dir, listed: d }, 'spool backlog marker names a directory without records: removed, and dropped from the marker');
      continue;
    }
    opened.push(store);
  }
  if (kept.length !== marker.dirs.length) recordBacklog(dir, kept, logger);
  if (opened.length === 0) return own;
  logger.info(
    { spool: dir, deliverFirst: opened.map((s) => s.location), records: opened.reduce((n, s) => n + s.records, 0) },
    'delivering older spool directories first (a reload moved this spool)',
  );
  let backlog: MessageStore = opened[0]!;
  for (const next of opened.slice(1)) backlog = new HandedOverStore(backlog, next, deps.onEmptied);
  return new HandedOverStore(backlog, own, deps.onEmptied);
}

/** Writes `dir`'s marker naming `backlog` (none: removes it); a failure is logged, never thrown. */
export function recordBacklog(dir: string, backlog: readonly string[], logger: Logger): void {
  try {
    writeMarker(dir, backlog);
  } catch (err) {
    logger.error(
      { spool: dir, deliverFirst: backlog, err: (err as Error).message },
      'spool backlog marker could not be written: if the gateway stops before those directories are delivered, they are not delivered at the next start',
    );
  }
}

/**
 * Closes a store whose records were all delivered; the spool directories in it are removed
 * (their spool files, and the directory once empty). Returns those directories.
 */
export async function removeDelivered(store: MessageStore): Promise<string[]> {
  if (store instanceof SpoolStore) {
    await store.closeAndRemove();
    return [store.location];
  }
  if (store instanceof HandedOverStore) {
    const { backlog, own } = store.split();
    return [...(backlog ? await removeDelivered(backlog) : []), ...(await removeDelivered(own))];
  }
  await store.close();
  return [];
}

/** True when both name one directory (also through a symlink): two spools must never share one. */
export function sameDirectory(a: string | undefined, b: string | undefined): boolean {
  if (a === undefined || b === undefined) return false;
  if (resolve(a) === resolve(b)) return true;
  try {
    const [x, y] = [fs.statSync(a), fs.statSync(b)];
    return x.dev === y.dev && x.ino === y.ino;
  } catch {
    return false; // one does not exist (yet): not the same
  }
}
