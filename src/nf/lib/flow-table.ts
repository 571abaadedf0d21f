// A fixed-capacity exact-match flow table keyed by up to four 32-bit words, with keyed hashing and idle expiry,
// built to keep its cost bounded under any traffic (docs/nfs.md, "Flow table", states the guarantees).
// - Capacity is fixed at creation; nothing grows or allocates in the packet path.
// - The hash is keyed with a random per-process secret, so an attacker cannot choose flows that collide
//   (Vigor's and TinyNF's NFs found that unkeyed tables degrade under crafted traffic).
// - Robin Hood open addressing with backward-shift deletion: no tombstones, so probe lengths depend only on the live
//   entries, whatever the churn (an earlier version with tombstones ran out of EMPTY slots after ~10^6 one-packet
//   flows and then every miss cost the full probe bound). Every entry sits at most MAX_PROBES - 1 slots past its home
//   slot (an insert that would break that is refused), so a lookup looks at most MAX_PROBES slots; slots are a power
//   of two >= 2 x capacity, so the table is at most half full. Measured (random keys, churn at a steady live count):
//   linear probing with backward shift averaged 2.5 probes per miss at half load (max 66), Robin Hood 1.75 (max 12);
//   at 75% load 8.6 (max 228) against 2.9 (max 23). Robin Hood was chosen.
// - Entries have a stable id in [0, capacity): the id is what find/findOrInsert return, so NFs keep their per-flow
//   values in arrays of `capacity` elements indexed by it, and moving entries between slots never moves them.
// - Expiry: an entry unused for more than `expiryNs` is dead: lookups never return it (and delete it when they meet
//   it), and a sweep paced by the clock (tick()) visits every id once per expiryNs / SWEEP_FRACTION of elapsed
//   time, so a dead entry holds capacity for at most that long after it dies: "full" means full of live flows.
import { randomBytes } from 'crypto';

export const MAX_PROBES = 32;
/** tick(): every id is visited once per expiryNs / SWEEP_FRACTION of elapsed time. */
export const SWEEP_FRACTION = 8;
/** tick(): ids visited per call at most (bounds the cost of the packet that pays for a long silence). */
export const SWEEP_MAX_PER_TICK = 4096;
/** An insert shifts at most this many entries to make room (bounds its cost); beyond, it is refused. */
const SHIFT_LIMIT = 2 * MAX_PROBES;

/** Slot layout in `slotData` (Int32 words): hash, key words 0..3, id + 1 (0 = empty slot). */
const STRIDE = 8;
const S_HASH = 0;
const S_KEY = 1;
const S_ID = 5;

/** The per-process hash key (four 32-bit words), drawn once. */
const SECRET = new Uint32Array(randomBytes(16).buffer.slice(0, 16));

/** Four fresh random words: a hash key for one table or one NF (not shared with any other process). */
export function randomSecret(): Uint32Array {
  return new Uint32Array(randomBytes(16).buffer.slice(0, 16));
}

/**
 * A secret given in a configuration (NFs that must hash alike in several processes share it): exactly 32 hex digits
 * (128 bits). Returns null if the text is not that.
 */
export function parseSecret(text: string): Uint32Array | null {
  if (!/^[0-9a-fA-F]{32}$/.test(text)) return null;
  const out = new Uint32Array(4);
  for (let i = 0; i < 4; i++) out[i] = parseInt(text.slice(i * 8, i * 8 + 8), 16) >>> 0;
  return out;
}

/**
 * A keyed 32-bit mix of up to four words (a Murmur3-style finaliser chain seeded with the secret). Returns a signed
 * 32-bit integer (a small integer for V8, never a boxed number): use `>>> 0` at the call site for an unsigned value.
 */
export function keyedHash(k0: number, k1: number, k2: number, k3: number, secret: Uint32Array = SECRET): number {
  let h = secret[0] ^ Math.imul(k0 ^ secret[1], 0xcc9e2d51);
  h = Math.imul((h << 13) | (h >>> 19), 5) + 0xe6546b64;
  h ^= Math.imul(k1 ^ secret[2], 0x1b873593);
  h = Math.imul((h << 13) | (h >>> 19), 5) + 0xe6546b64;
  h ^= Math.imul(k2 ^ secret[3], 0xcc9e2d51);
  h = Math.imul((h << 13) | (h >>> 19), 5) + 0xe6546b64;
  h ^= Math.imul(k3 ^ secret[0], 0x1b873593);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h | 0;
}

// ---- typed keys: fill a 4-word key (a Uint32Array of 4, allocated once by the caller) ----

/** An IPv4 5-tuple: source, destination, source port << 16 | destination port, protocol. */
export function fiveTupleKey(key: Uint32Array, src: number, dst: number, srcPort: number, dstPort: number, protocol: number): Uint32Array {
  key[0] = src;
  key[1] = dst;
  key[2] = ((srcPort & 0xffff) << 16) | (dstPort & 0xffff);
  key[3] = protocol & 0xff;
  return key;
}

/** An IPv4 address (other words 0). */
export function ipv4Key(key: Uint32Array, address: number): Uint32Array {
  key[0] = address;
  key[1] = 0;
  key[2] = 0;
  key[3] = 0;
  return key;
}

/** An IPv6 address: the 16 bytes at `offset` of `data`, as four big-endian words. */
export function ipv6Key(key: Uint32Array, data: DataView, offset: number): Uint32Array {
  key[0] = data.getUint32(offset);
  key[1] = data.getUint32(offset + 4);
  key[2] = data.getUint32(offset + 8);
  key[3] = data.getUint32(offset + 12);
  return key;
}

/** A MAC address: the 6 bytes at `offset` of `data` (word 0: bytes 0-1, word 1: bytes 2-5; other words 0). */
export function macKey(key: Uint32Array, data: DataView, offset: number): Uint32Array {
  key[0] = data.getUint16(offset);
  key[1] = data.getUint32(offset + 2);
  key[2] = 0;
  key[3] = 0;
  return key;
}

/** Called when an entry leaves the table (expiry, remove(), or a dead entry met by a lookup); must not use the table. */
export type RemoveListener = (id: number) => void;

export class FlowTable {
  /** Slots (a power of two >= 2 x capacity). */
  readonly slots: number;
  private readonly mask: number;
  /** Per slot: STRIDE words (see S_*). */
  private readonly slotData: Int32Array;
  /** Per id: the slot holding it, -1 = free id. */
  private readonly slotOf: Int32Array;
  /** Per id: last use, ns. */
  private readonly lastUseNs: Float64Array;
  /** Free ids (a stack). */
  private readonly freeIds: Int32Array;
  private freeTop: number;
  private count = 0;
  /**
   * 1 + the highest id ever given out: the sweep's cursor wraps there. Free ids are a stack with id 0 on top, so a
   * sparsely used table uses low ids only and the sweep visits them often, not the whole id range.
   */
  private highWater = 0;
  /** Doubles from the start (never a small-integer field that deoptimises at 2^31): see the getters. */
  private readonly stats = new Float64Array(STAT_COUNT);
  /** tick() state: last time, fractional ids owed, cursor. */
  private readonly sweep = new Float64Array(3);
  /** ids per ns swept by tick(): capacity x SWEEP_FRACTION / expiryNs (0 when entries never expire). */
  private readonly sweepRate: number;

  /** Set by findOrInsert: whether the returned id was just claimed (its values must be initialised). */
  isNew = false;

  /**
   * The table's clock: `time[0]` is the current time in ns, which the owner sets (once per packet: a typed-array
   * store). Time is not an argument of the methods because a double passed to a function V8 does not inline is
   * boxed, an allocation per call (real clocks read far beyond 2^31 ns); tables of one NF may share the cell.
   */
  readonly time: Float64Array;

  constructor(
    readonly capacity: number,
    readonly expiryNs: number,
    private readonly secret: Uint32Array = SECRET,
    private readonly onRemove: RemoveListener | null = null,
    time: Float64Array | null = null,
  ) {
    this.time = time ?? new Float64Array(1);
    if (!Number.isInteger(capacity) || capacity < 1 || capacity > 1 << 24) {
      throw new RangeError(`flow table capacity must be 1..16777216, got ${capacity}`);
    }
    if (!(expiryNs > 0)) throw new RangeError(`flow table expiry must be a positive number of ns, got ${expiryNs}`);
    let slots = 2;
    while (slots < capacity * 2) slots *= 2;
    this.slots = slots;
    this.mask = slots - 1;
    this.slotData = new Int32Array(slots * STRIDE);
    this.slotOf = new Int32Array(capacity).fill(-1);
    this.lastUseNs = new Float64Array(capacity);
    this.freeIds = new Int32Array(capacity);
    for (let i = 0; i < capacity; i++) this.freeIds[i] = capacity - 1 - i; // id 0 on top
    this.freeTop = capacity;
    this.sweepRate = Number.isFinite(expiryNs) ? (capacity * SWEEP_FRACTION) / expiryNs : 0;
    this.sweep[0] = -1;
  }

  /** Entries in the table (dead ones count until the sweep or a lookup removes them). */
  get size(): number {
    return this.count;
  }

  /** Slots with no entry (there are no tombstones: every slot is an entry or empty). */
  get emptySlots(): number {
    return this.slots - this.count;
  }

  /** Longest probe sequence seen. */
  get maxProbes(): number {
    return this.stats[ST_MAX];
  }
  /** Total slots looked at by find/findOrInsert, for the average. */
  get totalProbes(): number {
    return this.stats[ST_PROBES];
  }
  /** find/findOrInsert calls. */
  get operations(): number {
    return this.stats[ST_OPS];
  }
  /** Slots looked at by lookups that missed, and their number (probes per miss = missProbes / misses). */
  get missProbes(): number {
    return this.stats[ST_MISS_PROBES];
  }
  get misses(): number {
    return this.stats[ST_MISSES];
  }
  /** Inserts refused because `capacity` entries were in the table. */
  get refusedFull(): number {
    return this.stats[ST_REFUSED_FULL];
  }
  /** Inserts refused below capacity: the entry would have sat MAX_PROBES or more past its home, or too many shifts. */
  get refusedProbes(): number {
    return this.stats[ST_REFUSED_PROBES];
  }

  /** Reset the probe statistics (not the contents). */
  resetStats(): void {
    this.stats.fill(0);
  }

  /** Set the clock (`time[0] = now`; in packet paths write the cell directly). */
  setTime(now: number): void {
    this.time[0] = now;
  }

  /**
   * The id of the live entry with this key, or -1. With `refresh`, a hit is marked used now (as touch()).
   * A dead entry met on the way is deleted. Keys are compared as 32-bit words (pass `x | 0` for uint32 values
   * above 2^31, which V8 would otherwise box as doubles).
   */
  find(k0: number, k1: number, k2: number, k3: number, refresh = false): number {
    const d = this.slotData;
    const h = keyedHash(k0, k1, k2, k3, this.secret);
    const mask = this.mask;
    let s = h & mask;
    for (let probe = 0; probe < MAX_PROBES; probe++) {
      const b = s * STRIDE;
      const idp = d[b + S_ID];
      // empty, or an entry closer to its home than we are to ours: the key is not here (Robin Hood invariant)
      if (idp === 0 || ((s - (d[b + S_HASH] & mask)) & mask) < probe) return this.miss(probe + 1);
      if (d[b + S_HASH] === h && d[b + S_KEY] === (k0 | 0) && d[b + S_KEY + 1] === (k1 | 0) && d[b + S_KEY + 2] === (k2 | 0) && d[b + S_KEY + 3] === (k3 | 0)) {
        const id = idp - 1;
        this.account(probe + 1);
        const now = this.time[0];
        if (now - this.lastUseNs[id] > this.expiryNs) {
          this.deleteAt(s);
          return -1;
        }
        if (refresh) this.lastUseNs[id] = now;
        return id;
      }
      s = (s + 1) & mask;
    }
    return this.miss(MAX_PROBES);
  }

  /**
   * The id of the live entry with this key (isNew = false; with `refresh` marked used now), or a newly claimed
   * id (isNew = true, last use = now), or -1 if the table cannot take it (capacity entries already, or the probe
   * bound: counted in refusedFull / refusedProbes). A dead entry with the key is recycled as a new entry (its
   * listener is told it left).
   */
  findOrInsert(k0: number, k1: number, k2: number, k3: number, refresh = false): number {
    const d = this.slotData;
    const now = this.time[0];
    const h = keyedHash(k0, k1, k2, k3, this.secret);
    const mask = this.mask;
    let s = h & mask;
    let probe = 0;
    let empty = false;
    for (; probe < MAX_PROBES; probe++) {
      const b = s * STRIDE;
      const idp = d[b + S_ID];
      if (idp === 0) {
        empty = true;
        break;
      }
      if (((s - (d[b + S_HASH] & mask)) & mask) < probe) break; // the key would be here: insert at s, shifting the rest
      if (d[b + S_HASH] === h && d[b + S_KEY] === (k0 | 0) && d[b + S_KEY + 1] === (k1 | 0) && d[b + S_KEY + 2] === (k2 | 0) && d[b + S_KEY + 3] === (k3 | 0)) {
        const id = idp - 1;
        this.account(probe + 1);
        if (now - this.lastUseNs[id] > this.expiryNs) {
          if (this.onRemove !== null) this.onRemove(id); // dead: the same id starts a new entry
          this.lastUseNs[id] = now;
          this.isNew = true;
          return id;
        }
        if (refresh) this.lastUseNs[id] = now;
        this.isNew = false;
        return id;
      }
      s = (s + 1) & mask;
    }
    this.miss(probe < MAX_PROBES ? probe + 1 : MAX_PROBES);
    this.isNew = false;
    if (probe === MAX_PROBES) {
      this.stats[ST_REFUSED_PROBES]++;
      return -1;
    }
    if (this.count >= this.capacity) {
      this.stats[ST_REFUSED_FULL]++;
      return -1;
    }
    if (!empty && !this.shiftRight(s)) {
      this.stats[ST_REFUSED_PROBES]++;
      return -1;
    }
    const id = this.freeIds[--this.freeTop];
    const b = s * STRIDE;
    d[b + S_HASH] = h;
    d[b + S_KEY] = k0;
    d[b + S_KEY + 1] = k1;
    d[b + S_KEY + 2] = k2;
    d[b + S_KEY + 3] = k3;
    d[b + S_ID] = id + 1;
    this.slotOf[id] = s;
    this.lastUseNs[id] = now;
    if (id >= this.highWater) this.highWater = id + 1;
    this.count++;
    this.isNew = true;
    return id;
  }

  /** find() with the key in a 4-word array (see fiveTupleKey, ipv4Key, ipv6Key, macKey). */
  findKey(key: Uint32Array, refresh = false): number {
    return this.find(key[0] | 0, key[1] | 0, key[2] | 0, key[3] | 0, refresh);
  }

  /** findOrInsert() with the key in a 4-word array. */
  findOrInsertKey(key: Uint32Array, refresh = false): number {
    return this.findOrInsert(key[0] | 0, key[1] | 0, key[2] | 0, key[3] | 0, refresh);
  }

  /** Delete the entry `id` (e.g. a flow refused right after insertion); nothing if the id is free. */
  remove(id: number): void {
    const s = this.slotOf[id];
    if (s >= 0) this.deleteAt(s);
  }

  /** Mark the entry used now (keeps it from expiring). */
  touch(id: number): void {
    this.lastUseNs[id] = this.time[0];
  }

  /** The entry's last use, ns (a double: for diagnostics and tests, not packet paths). */
  lastUse(id: number): number {
    return this.lastUseNs[id];
  }

  /** Whether `id` holds an entry that is alive now. */
  isLive(id: number): boolean {
    return this.slotOf[id] >= 0 && !(this.time[0] - this.lastUseNs[id] > this.expiryNs);
  }

  /** Word `w` (0..3) of the key of entry `id`. */
  keyWord(id: number, w: number): number {
    return this.slotData[this.slotOf[id] * STRIDE + S_KEY + w] >>> 0;
  }

  /**
   * Iteration without allocation: the first id >= `from` that holds an entry (dead ones not yet removed included),
   * or -1. `for (let id = t.next(0); id >= 0; id = t.next(id + 1))`. Removing the current id while iterating is
   * allowed (ids never move).
   */
  next(from: number): number {
    const slotOf = this.slotOf;
    for (let id = from; id < this.capacity; id++) if (slotOf[id] >= 0) return id;
    return -1;
  }

  /** Call `fn` with the id of every entry alive now (in id order; fn may remove the entry it is given). */
  forEach(fn: (id: number) => void): void {
    for (let id = this.next(0); id >= 0; id = this.next(id + 1)) if (this.isLive(id)) fn(id);
  }

  /**
   * Delete the entries dead now among the next `budget` ids (a cursor over the ids given out so far, which never
   * move, so each is visited once per pass).
   */
  expire(budget: number): void {
    if (!(budget > 0)) return;
    const now = this.time[0];
    const end = this.highWater;
    const lastUse = this.lastUseNs;
    const slotOf = this.slotOf;
    let cursor = this.sweep[ST_CURSOR] | 0;
    if (cursor >= end) cursor = 0;
    for (let i = 0; i < budget && end > 0; i++) {
      const s = slotOf[cursor];
      if (s >= 0 && now - lastUse[cursor] > this.expiryNs) this.deleteAt(s);
      cursor = cursor + 1 >= end ? 0 : cursor + 1;
    }
    this.sweep[ST_CURSOR] = cursor;
  }

  /**
   * Call once per packet (or more often), after setting the time: sweeps capacity x SWEEP_FRACTION / expiryNs ids per
   * ns elapsed since the previous call (at most SWEEP_MAX_PER_TICK per call), so the sweep keeps up with the clock,
   * not with the packets: at any packet rate that can fill the table, every id is visited once per
   * expiryNs / SWEEP_FRACTION.
   *
   * expire() is called every time, with nothing owed too (it returns at once), so that V8 sees it as a hot function.
   * Called only when the clock moved (once per poll round with a CoarseClock), it was seen compiled only on-stack
   * (OSR) after two deoptimisations, never again as a whole: each call then ran its start and first iteration in
   * the baseline compiler, where every double is a heap object (64 B per call, in ~1 of 15 processes on a loaded
   * machine, tests/nf/alloc-rig.ts).
   */
  tick(): void {
    const now = this.time[0];
    const sw = this.sweep;
    const last = sw[ST_LAST];
    sw[ST_LAST] = now;
    let n = 0;
    if (last >= 0 && now > last && this.sweepRate !== 0) {
      let owed = sw[ST_OWED] + (now - last) * this.sweepRate;
      if (owed > SWEEP_MAX_PER_TICK) owed = SWEEP_MAX_PER_TICK;
      n = owed | 0; // an int32 (owed <= SWEEP_MAX_PER_TICK): Math.floor's double would be boxed passed on
      sw[ST_OWED] = owed - n;
    }
    this.expire(n);
  }

  /** Make room at slot `s` (occupied) by shifting the run from s to the next empty slot one slot on; false if not allowed. */
  private shiftRight(s: number): boolean {
    const d = this.slotData;
    const mask = this.mask;
    let e = s;
    for (let n = 0; ; n++) {
      if (n === SHIFT_LIMIT) return false;
      const b = e * STRIDE;
      if (d[b + S_ID] === 0) break;
      if (((e - (d[b + S_HASH] & mask)) & mask) >= MAX_PROBES - 1) return false; // it would end MAX_PROBES past its home
      e = (e + 1) & mask;
    }
    const slotOf = this.slotOf;
    while (e !== s) {
      const p = (e - 1) & mask;
      const to = e * STRIDE;
      const from = p * STRIDE;
      for (let w = 0; w < STRIDE; w++) d[to + w] = d[from + w];
      slotOf[d[to + S_ID] - 1] = e;
      e = p;
    }
    return true;
  }

  /** Delete the entry in slot `s`: backward shift (every following entry not at its home moves one slot back). */
  private deleteAt(s: number): void {
    const d = this.slotData;
    const mask = this.mask;
    const slotOf = this.slotOf;
    const id = d[s * STRIDE + S_ID] - 1;
    for (;;) {
      const n = (s + 1) & mask;
      const bn = n * STRIDE;
      const idp = d[bn + S_ID];
      if (idp === 0 || ((n - (d[bn + S_HASH] & mask)) & mask) === 0) break;
      const b = s * STRIDE;
      for (let w = 0; w < STRIDE; w++) d[b + w] = d[bn + w];
      slotOf[idp - 1] = s;
      s = n;
    }
    d[s * STRIDE + S_ID] = 0;
    slotOf[id] = -1;
    this.freeIds[this.freeTop++] = id;
    this.count--;
    if (this.onRemove !== null) this.onRemove(id);
  }

  private account(probes: number): void {
    const st = this.stats;
    st[ST_OPS]++;
    st[ST_PROBES] += probes;
    if (probes > st[ST_MAX]) st[ST_MAX] = probes;
  }

  private miss(probes: number): number {
    const st = this.stats;
    st[ST_MISSES]++;
    st[ST_MISS_PROBES] += probes;
    this.account(probes);
    return -1;
  }
}

const ST_OPS = 0;
const ST_PROBES = 1;
const ST_MAX = 2;
const ST_MISSES = 3;
const ST_MISS_PROBES = 4;
const ST_REFUSED_FULL = 5;
const ST_REFUSED_PROBES = 6;
const STAT_COUNT = 7;
const ST_LAST = 0;
const ST_OWED = 1;
const ST_CURSOR = 2;
