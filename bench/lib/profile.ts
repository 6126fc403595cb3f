// Reads a V8 .cpuprofile (node --cpu-prof) and says where the time went: the functions with the
// most self time, and self time summed per library (npm package, gateway module, Node core, GC).
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

export interface ProfileEntry {
  name: string;
  library: string;
  selfMs: number;
  /** Share of the busy (non-idle) time. */
  percent: number;
}

export interface ProfileSummary {
  file: string;
  totalMs: number;
  busyMs: number;
  topFunctions: ProfileEntry[];
  byLibrary: Array<{ library: string; selfMs: number; percent: number }>;
  /**
   * The same time with Node core and native frames (Buffer allocation, copies, socket writes)
   * charged to the nearest npm package or gateway module up the stack that called them. GC and
   * V8's own "(program)" have no caller and stay as they are.
   */
  byCaller: Array<{ library: string; selfMs: number; percent: number }>;
}

/** Which library a frame belongs to, from its script URL. */
export function libraryOf(functionName: string, url: string): string {
  if (url === '') {
    if (functionName === '(garbage collector)') return 'V8 garbage collector';
    if (functionName === '(idle)') return '(idle)';
    if (functionName === '(program)') return 'V8/native (program)';
    return 'native';
  }
  const nm = url.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + '/node_modules/'.length).split('/');
    return `npm:${rest[0]?.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]}`;
  }
  const dist = /\/(dist|src)\/(.+?)(\.[jt]s)?$/.exec(url);
  if (dist) return `gateway:${dist[2]}`;
  if (url.startsWith('node:')) {
    const parts = url.slice(5).split('/');
    return `node:${parts[0] === 'internal' ? (parts[1] ?? 'internal') : parts[0]}`;
  }
  return url;
}

function shortUrl(url: string): string {
  const nm = url.lastIndexOf('/node_modules/');
  if (nm >= 0) return url.slice(nm + '/node_modules/'.length);
  const m = /\/(dist|src)\/(.+)$/.exec(url);
  if (m) return `${m[1]}/${m[2]}`;
  return url.replace(/^file:\/\//, '');
}

export function analyzeProfile(file: string, top = 25): ProfileSummary {
  const p = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  const samples = p.samples ?? [];
  const deltas = p.timeDeltas ?? [];
  if (samples.length > 0) {
    // timeDeltas[i] is the time before sample i: the time of sample i is the next delta.
    for (let i = 0; i < samples.length; i++) {
      const d = (deltas[i + 1] ?? deltas[i] ?? 0) / 1000;
      self.set(samples[i] as number, (self.get(samples[i] as number) ?? 0) + d);
    }
  } else {
    const total = (p.endTime - p.startTime) / 1000;
    const hits = p.nodes.reduce((n, x) => n + (x.hitCount ?? 0), 0) || 1;
    for (const n of p.nodes) self.set(n.id, ((n.hitCount ?? 0) * total) / hits);
  }
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const libOf = (id: number): string => {
    const f = (byId.get(id) as ProfileNode).callFrame;
    return libraryOf(f.functionName, f.url);
  };
  const owned = (l: string): boolean => l.startsWith('npm:') || l.startsWith('gateway:');
  const callerCache = new Map<number, string>();
  const callerOf = (id: number): string => {
    const hit = callerCache.get(id);
    if (hit !== undefined) return hit;
    let l = libOf(id);
    if (!owned(l)) {
      for (let up = parent.get(id); up !== undefined; up = parent.get(up)) {
        const ul = libOf(up);
        if (owned(ul)) {
          l = ul;
          break;
        }
      }
    }
    callerCache.set(id, l);
    return l;
  };
  const fn = new Map<string, ProfileEntry>();
  const lib = new Map<string, number>();
  const caller = new Map<string, number>();
  let totalMs = 0;
  let idleMs = 0;
  for (const [id, ms] of self) {
    const node = byId.get(id);
    if (!node) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    const library = libraryOf(functionName, url);
    totalMs += ms;
    if (library === '(idle)') {
      idleMs += ms;
      continue;
    }
    const name = `${functionName || '(anonymous)'}${url ? ` ${shortUrl(url)}:${lineNumber + 1}` : ''}`;
    const e = fn.get(name) ?? { name, library, selfMs: 0, percent: 0 };
    e.selfMs += ms;
    fn.set(name, e);
    lib.set(library, (lib.get(library) ?? 0) + ms);
    const c = callerOf(id);
    caller.set(c, (caller.get(c) ?? 0) + ms);
  }
  const busyMs = totalMs - idleMs;
  const pct = (ms: number): number => (busyMs > 0 ? (100 * ms) / busyMs : 0);
  const topFunctions = [...fn.values()]
    .sort((a, b) => b.selfMs - a.selfMs)
    .slice(0, top)
    .map((e) => ({ ...e, selfMs: round(e.selfMs), percent: round(pct(e.selfMs)) }));
  const ranked = (m: Map<string, number>): Array<{ library: string; selfMs: number; percent: number }> =>
    [...m].sort((a, b) => b[1] - a[1]).map(([library, ms]) => ({ library, selfMs: round(ms), percent: round(pct(ms)) }));
  return { file, totalMs: round(totalMs), busyMs: round(busyMs), topFunctions, byLibrary: ranked(lib), byCaller: ranked(caller) };
}

const round = (x: number): number => Math.round(x * 10) / 10;
