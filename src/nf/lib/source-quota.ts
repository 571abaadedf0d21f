// Per-source quotas for flow tables: at most `limit` entries per source (an IPv4 address, or any key of up to four
// words), so one host cannot fill a table that all hosts share. The sources are themselves a keyed flow table
// (never expiring: a source leaves when its last entry is released), sized for the worst case of one source per
// entry, so a quota lookup has the flow table's bounded cost and allocates nothing.
//
// Use: on a new flow, `acquire(source)` (-1: over quota, counted in `refused`; drop or undo the flow), remember the
// returned source id with the flow, and `release(sourceId)` when the flow leaves (the flow table's remove listener).
import { FlowTable } from './flow-table';

export class SourceQuota {
  private readonly sources: FlowTable;
  /** Entries held per source id. */
  private readonly used: Int32Array;
  /** [refused]: a double from the start (a small-integer field would deoptimise past 2^31). */
  private readonly stats = new Float64Array(1);

  /** `limit`: entries per source (>= 1); `capacity`: the flow table's (the most sources there can be). */
  constructor(
    readonly limit: number,
    capacity: number,
  ) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`source quota must be a whole number >= 1, got ${limit}`);
    this.sources = new FlowTable(capacity, Number.POSITIVE_INFINITY);
    this.used = new Int32Array(capacity);
  }

  /** Take one entry for the source: its source id, or -1 if it already holds `limit` (counted in refused). */
  acquire(s0: number, s1: number, s2: number, s3: number): number {
    const id = this.sources.findOrInsert(s0, s1, s2, s3);
    if (id < 0) {
      this.stats[0]++; // cannot happen with capacity >= the flows', kept for safety
      return -1;
    }
    if (this.sources.isNew) this.used[id] = 0;
    if (this.used[id] >= this.limit) {
      this.stats[0]++;
      return -1;
    }
    this.used[id]++;
    return id;
  }

  /** Give back one entry of source `id` (from acquire). */
  release(id: number): void {
    if (--this.used[id] <= 0) this.sources.remove(id);
  }

  /** Entries held by the source (0 if it holds none). */
  heldBy(s0: number, s1: number, s2: number, s3: number): number {
    const id = this.sources.find(s0 | 0, s1 | 0, s2 | 0, s3 | 0);
    return id < 0 ? 0 : this.used[id];
  }

  /** New entries refused because their source held `limit` already. */
  get refused(): number {
    return this.stats[0];
  }

  /** Sources holding at least one entry. */
  get size(): number {
    return this.sources.size;
  }
}

/**
 * The per-flow side of a quota: which source each flow id counts against, released when the flow leaves. `listener`
 * is the flow table's remove listener.
 */
export class QuotaLink {
  private readonly sourceOf: Int32Array;
  readonly listener: (id: number) => void;

  constructor(
    readonly quota: SourceQuota,
    capacity: number,
  ) {
    const sourceOf = new Int32Array(capacity).fill(-1);
    this.sourceOf = sourceOf;
    this.listener = (id: number): void => {
      const s = sourceOf[id];
      if (s >= 0) {
        sourceOf[id] = -1;
        quota.release(s);
      }
    };
  }

  /** Count flow `id` (just inserted) against the source; false (nothing counted) if over quota. */
  admit(id: number, s0: number, s1: number, s2: number, s3: number): boolean {
    const s = this.quota.acquire(s0, s1, s2, s3);
    if (s < 0) return false;
    this.sourceOf[id] = s;
    return true;
  }
}
