// A fixed-capacity flow table keyed by up to four 32-bit words, with keyed hashing and idle expiry.
// - Capacity is fixed at creation; nothing grows in the packet path.
// - The hash is keyed with a random per-process secret, so an attacker cannot choose flows that collide
//   (Vigor's and TinyNF's NFs found that unkeyed tables degrade under crafted traffic).
// - Open addressing with linear probing, at most MAX_PROBES slots looked at per operation, so a lookup costs a
//   bounded time whatever the traffic; an insert that finds no free slot within the bound fails (table full).
// - Entries unused for `expiryNs` expire: lazily when probed, and by a sweeping cursor (expire()); a deleted
//   entry becomes a tombstone so probe chains through it stay intact.
import { randomBytes } from 'crypto';

export const MAX_PROBES = 32;
const EMPTY = 0;
const DELETED = -1;
/** Slots swept for expired entries when an insert finds the table at capacity (bounds the cost per packet). */
const FULL_SWEEP = 64;
/** tick(): every SWEEP_PERIOD calls, SWEEP_BUDGET slots are swept for expired entries. */
const SWEEP_PERIOD = 64;
const SWEEP_BUDGET = 64;

/** The per-process hash key (four 32-bit words), drawn once. */
const SECRET = new Uint32Array(randomBytes(16).buffer.slice(0, 16));

/** A keyed 32-bit mix of up to four words (a Murmur3-style finaliser chain seeded with the secret). */
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
  return h >>> 0;
}

export class FlowTable {
  /** Slots (a power of two >= capacity / 0.75). */
  readonly slots: number;
  private readonly mask: number;
  private readonly keys: Uint32Array;
  /** Last use time in ns (> 0); EMPTY = never used (ends probe chains); DELETED = tombstone. */
  private readonly lastUse: Float64Array;
  private count = 0;
  /** Longest probe sequence seen (for the adversarial test and diagnostics). */
  maxProbes = 0;
  /** Total probes, for the average. */
  totalProbes = 0;
  operations = 0;

  constructor(
    readonly capacity: number,
    readonly expiryNs: number,
    private readonly secret: Uint32Array = SECRET,
  ) {
    if (!Number.isInteger(capacity) || capacity < 1 || capacity > 1 << 24) {
      throw new RangeError(`flow table capacity must be 1..16777216, got ${capacity}`);
    }
    let slots = 1;
    while (slots * 3 < capacity * 4) slots <<= 1;
    this.slots = slots;
    this.mask = slots - 1;
    this.keys = new Uint32Array(slots * 4);
    this.lastUse = new Float64Array(slots);
  }

  /** Live entries (expired ones are counted until their slot is reused). */
  get size(): number {
    return this.count;
  }

  /** Slot holding the key and still alive at `now`, or -1. Refreshes nothing. */
  find(k0: number, k1: number, k2: number, k3: number, now: number): number {
    const keys = this.keys;
    let slot = keyedHash(k0, k1, k2, k3, this.secret) & this.mask;
    for (let probe = 1; probe <= MAX_PROBES; probe++) {
      const t = this.lastUse[slot];
      if (t === EMPTY) return this.account(probe, -1);
      const b = slot * 4;
      if (t > 0 && keys[b] === k0 && keys[b + 1] === k1 && keys[b + 2] === k2 && keys[b + 3] === k3) {
        return this.account(probe, now - t > this.expiryNs ? -1 : slot);
      }
      slot = (slot + 1) & this.mask;
    }
    return this.account(MAX_PROBES, -1);
  }

  /**
   * Slot for the key: existing (alive) or newly claimed (an empty, deleted or expired slot within the probe
   * bound). Returns -1 if the table is full (capacity reached, or no slot within the bound). `isNew` tells
   * whether the caller must initialise the slot's values.
   */
  findOrInsert(k0: number, k1: number, k2: number, k3: number, now: number): number {
    const keys = this.keys;
    const lastUse = this.lastUse;
    let slot = keyedHash(k0, k1, k2, k3, this.secret) & this.mask;
    let free = -1;
    let probe = 1;
    for (; probe <= MAX_PROBES; probe++) {
      const t = lastUse[slot];
      if (t === EMPTY) {
        if (free < 0) free = slot;
        break;
      }
      if (t > 0) {
        const b = slot * 4;
        const expired = now - t > this.expiryNs;
        const same = keys[b] === k0 && keys[b + 1] === k1 && keys[b + 2] === k2 && keys[b + 3] === k3;
        if (same && !expired) {
          this.account(probe, 0);
          this.isNew = false;
          return slot;
        }
        if (expired) {
          lastUse[slot] = DELETED; // a tombstone: lookups go on past it, inserts may reuse it
          this.count--;
        }
        if (same) {
          if (free < 0) free = slot;
          break;
        }
      }
      if (lastUse[slot] === DELETED && free < 0) free = slot;
      slot = (slot + 1) & this.mask;
    }
    this.account(Math.min(probe, MAX_PROBES), 0);
    this.isNew = false;
    // Full? Expired entries elsewhere may still hold capacity: sweep a bounded number of slots before refusing.
    if (free >= 0 && this.count >= this.capacity) this.expire(now, FULL_SWEEP);
    if (free < 0 || this.count >= this.capacity) return -1;
    const b = free * 4;
    keys[b] = k0;
    keys[b + 1] = k1;
    keys[b + 2] = k2;
    keys[b + 3] = k3;
    lastUse[free] = now > 0 ? now : 1;
    this.count++;
    this.isNew = true;
    return free;
  }

  /**
   * Delete entries idle for longer than the expiry among the next `budget` slots (a sweeping cursor): called
   * once per time refresh, so expired flows free capacity even when their slots are never probed again.
   */
  expire(now: number, budget: number): void {
    const lastUse = this.lastUse;
    let cursor = this.cursor;
    for (let i = 0; i < budget; i++) {
      const t = lastUse[cursor];
      if (t > 0 && now - t > this.expiryNs) {
        lastUse[cursor] = DELETED;
        this.count--;
      }
      cursor = (cursor + 1) & this.mask;
    }
    this.cursor = cursor;
  }

  private cursor = 0;
  private sweepCountdown = SWEEP_PERIOD;

  /**
   * Call once per packet that uses the table: every SWEEP_PERIOD calls, sweeps SWEEP_BUDGET slots (expire()), so
   * idle entries are freed at a bounded, amortised cost per packet.
   */
  tick(now: number): void {
    if (--this.sweepCountdown === 0) {
      this.sweepCountdown = SWEEP_PERIOD;
      this.expire(now, SWEEP_BUDGET);
    }
  }

  /** Set by findOrInsert: whether the returned slot was just claimed. */
  isNew = false;

  /** Delete the entry in `slot` (e.g. a flow refused right after insertion). */
  remove(slot: number): void {
    if (this.lastUse[slot] > 0) {
      this.lastUse[slot] = DELETED;
      this.count--;
    }
  }

  /** Mark the slot used at `now` (keeps it from expiring). */
  touch(slot: number, now: number): void {
    this.lastUse[slot] = now > 0 ? now : 1;
  }

  private account(probes: number, result: number): number {
    this.operations++;
    this.totalProbes += probes;
    if (probes > this.maxProbes) this.maxProbes = probes;
    return result;
  }
}
