// Verifies a frame-forwarding peer (rsyslog imczmq → omkafka): it forwards each ZeroMQ frame of
// an NCSA message as a Kafka message of its own, so a run of N records must leave N path frames
// and N record frames in the topic, each record byte for byte as Zeek wrote it (no envelope).
// Also counts how often a record came right after its own path frame: whether a consumer
// could pair them again from the order alone.
import type { Dataset, Plan } from '../lib/data.js';

export interface FrameCounts {
  /** Kafka messages read. */
  messages: number;
  /** Messages that are a path frame of the plan. */
  pathFrames: number;
  /** Messages that are a record of the plan (duplicates included). */
  recordFrames: number;
  /** Records of the plan that never arrived. */
  lost: number;
  /** Record arrivals beyond the times the record was sent. */
  duplicates: number;
  /** Path frames missing (a path frame that never arrived: its record cannot be attributed). */
  pathFramesLost: number;
  /** Messages that are neither a path of the plan nor one of its records (altered on the way). */
  foreign: number;
  /** Record frames that came right after a path frame of their own path. */
  adjacentPairs: number;
  ok: boolean;
}

export class FrameTally {
  private readonly ids = new Map<string, number>();
  /** The path each record id belongs to (the first seen, should one record occur under two paths). */
  private readonly pathOf: string[] = [];
  private readonly expected: number[] = [];
  private readonly got: number[] = [];
  private readonly pathsExpected = new Map<string, number>();
  private readonly pathsGot = new Map<string, number>();
  private lastPath: string | undefined;
  private missing: number;
  private readonly c = { messages: 0, pathFrames: 0, recordFrames: 0, duplicates: 0, foreign: 0, adjacentPairs: 0 };

  constructor(d: Dataset, plan: Plan) {
    for (const k of plan.sequence) {
      const path = d.paths[k] as string;
      this.pathsExpected.set(path, (this.pathsExpected.get(path) ?? 0) + 1);
      for (const r of d.records[k] as Buffer[]) {
        const key = r.toString('latin1');
        let id = this.ids.get(key);
        if (id === undefined) {
          id = this.ids.size;
          this.ids.set(key, id);
          this.pathOf.push(path);
          this.expected.push(0);
          this.got.push(0);
        }
        this.expected[id]!++;
      }
    }
    this.missing = plan.records;
  }

  /** Every record of the plan arrived (duplicates may still follow). */
  get complete(): boolean {
    return this.missing === 0;
  }

  /** One Kafka message. A frame that could be either (a path spelled like a record) counts as a path. */
  add(frame: Buffer): void {
    this.c.messages++;
    const text = frame.toString('latin1');
    if (this.pathsExpected.has(text)) {
      this.c.pathFrames++;
      this.pathsGot.set(text, (this.pathsGot.get(text) ?? 0) + 1);
      this.lastPath = text;
      return;
    }
    const id = this.ids.get(text);
    const after = this.lastPath;
    this.lastPath = undefined;
    if (id === undefined) {
      this.c.foreign++;
      return;
    }
    this.c.recordFrames++;
    if (after === this.pathOf[id]) this.c.adjacentPairs++;
    const n = ++this.got[id]!;
    if (n > (this.expected[id] as number)) this.c.duplicates++;
    else this.missing--;
  }

  counts(): FrameCounts {
    let pathFramesLost = 0;
    for (const [p, n] of this.pathsExpected) pathFramesLost += Math.max(0, n - (this.pathsGot.get(p) ?? 0));
    const lost = this.missing;
    return { ...this.c, lost, pathFramesLost, ok: lost === 0 && pathFramesLost === 0 && this.c.foreign === 0 && this.c.duplicates === 0 };
  }
}
