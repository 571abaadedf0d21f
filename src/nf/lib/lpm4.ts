// IPv4 longest-prefix match, DIR-24-8 as DPDK's rte_lpm (Gupta, Lin, McKeown, "Routing lookups in hardware at memory
// access speeds", INFOCOM 1998): a table of 2^24 entries indexed by the address's upper 24 bits, and for the /24s that
// hold longer prefixes a group of 256 entries indexed by the last byte. A lookup is one or two array reads, no
// allocation, no branch on the prefix length.
//
// Entry (32 bits, an Int32Array element): next hop in bits 0-23, VALID bit 24, EXT bit 25 (tbl24 only: bits 0-23 are a
// tbl8 group index instead), the depth (prefix length, 0-32) of the rule that wrote it in bits 26-31. Adding a rule of
// depth d writes every entry its range covers whose depth is <= d (controlled prefix expansion); removing it rewrites
// the entries of depth exactly d with the longest remaining rule covering them (or invalid). Memory: 64 MiB for tbl24
// plus 1 KiB per tbl8 group. Next hops are 0..2^24-1 (an index into the NF's own table of ports/MACs/...).
import { TinyNfError } from '../../env/environment';

export const LPM_MISS = -1;
export const LPM4_MAX_NEXT_HOP = 0xffffff;
const VALID = 1 << 24;
const EXT = 1 << 25;
const DEPTH_SHIFT = 26;
const NH_MASK = 0xffffff;

function mask(depth: number): number {
  return depth === 0 ? 0 : (0xffffffff << (32 - depth)) >>> 0;
}

function leaf(nextHop: number, depth: number): number {
  return nextHop | VALID | (depth << DEPTH_SHIFT);
}

export class Lpm4 {
  private readonly tbl24 = new Int32Array(1 << 24);
  private readonly tbl8: Int32Array;
  private readonly freeGroups: number[] = [];
  /** rules[depth]: masked prefix -> next hop. */
  private readonly rules: Map<number, number>[] = Array.from({ length: 33 }, () => new Map<number, number>());
  private count = 0;

  /** `tbl8Groups`: how many /24s may hold prefixes longer than /24 (1 KiB each). */
  constructor(readonly tbl8Groups = 1024) {
    if (!Number.isInteger(tbl8Groups) || tbl8Groups < 1 || tbl8Groups > 1 << 16) {
      throw new TinyNfError(`LPM: tbl8 groups must be 1..65536, got ${tbl8Groups}`);
    }
    this.tbl8 = new Int32Array(tbl8Groups * 256);
    for (let g = tbl8Groups - 1; g >= 0; g--) this.freeGroups.push(g);
  }

  /** Rules held. */
  get size(): number {
    return this.count;
  }

  /** tbl8 groups in use. */
  get groupsUsed(): number {
    return this.tbl8Groups - this.freeGroups.length;
  }

  /** The next hop of the longest prefix holding `address` (unsigned 32-bit), or LPM_MISS. */
  lookup(address: number): number {
    let e = this.tbl24[address >>> 8];
    if ((e & EXT) !== 0) e = this.tbl8[((e & NH_MASK) << 8) | (address & 0xff)];
    return (e & VALID) !== 0 ? e & NH_MASK : LPM_MISS;
  }

  /** Add (or replace) the rule prefix/length -> nextHop. Host bits of `prefix` are ignored. */
  add(prefix: number, length: number, nextHop: number): void {
    if (!Number.isInteger(length) || length < 0 || length > 32) throw new TinyNfError(`LPM: prefix length must be 0..32, got ${length}`);
    if (!Number.isInteger(nextHop) || nextHop < 0 || nextHop > LPM4_MAX_NEXT_HOP) {
      throw new TinyNfError(`LPM: next hop must be 0..${LPM4_MAX_NEXT_HOP}, got ${nextHop}`);
    }
    const p = (prefix & mask(length)) >>> 0;
    if (length > 24 && (this.tbl24[p >>> 8] & EXT) === 0 && this.freeGroups.length === 0) {
      throw new TinyNfError(`LPM: all ${this.tbl8Groups} tbl8 groups are in use (prefixes longer than /24 in that many /24s)`);
    }
    if (!this.rules[length].has(p)) this.count++;
    this.rules[length].set(p, nextHop);
    this.write(p, length, leaf(nextHop, length), (e) => (e & VALID) === 0 || e >>> DEPTH_SHIFT <= length);
  }

  /** Remove the rule prefix/length; returns whether there was one. */
  remove(prefix: number, length: number): boolean {
    if (!Number.isInteger(length) || length < 0 || length > 32) return false;
    const p = (prefix & mask(length)) >>> 0;
    if (!this.rules[length].delete(p)) return false;
    this.count--;
    let replacement = 0;
    for (let d = length - 1; d >= 0; d--) {
      const nh = this.rules[d].get((p & mask(d)) >>> 0);
      if (nh !== undefined) {
        replacement = leaf(nh, d);
        break;
      }
    }
    this.write(p, length, replacement, (e) => (e & VALID) !== 0 && e >>> DEPTH_SHIFT === length);
    return true;
  }

  /** Forget every rule. */
  clear(): void {
    this.tbl24.fill(0);
    this.tbl8.fill(0);
    this.freeGroups.length = 0;
    for (let g = this.tbl8Groups - 1; g >= 0; g--) this.freeGroups.push(g);
    for (const r of this.rules) r.clear();
    this.count = 0;
  }

  /** Write `value` into every entry of prefix p/length for which `replace(entry)` holds. */
  private write(p: number, length: number, value: number, replace: (e: number) => boolean): void {
    if (length <= 24) {
      const start = p >>> 8;
      const end = start + (1 << (24 - length));
      for (let i = start; i < end; i++) {
        const e = this.tbl24[i];
        if ((e & EXT) !== 0) {
          const base = (e & NH_MASK) << 8;
          for (let j = base; j < base + 256; j++) if (replace(this.tbl8[j])) this.tbl8[j] = value;
          this.collapse(i);
        } else if (replace(e)) {
          this.tbl24[i] = value;
        }
      }
      return;
    }
    const i = p >>> 8;
    let e = this.tbl24[i];
    if ((e & EXT) === 0) {
      const g = this.freeGroups.pop()!; // checked by add(); remove() only reaches here with a group in place
      this.tbl8.fill(e, g << 8, (g << 8) + 256);
      e = EXT | g;
      this.tbl24[i] = e;
    }
    const base = (e & NH_MASK) << 8;
    const start = base + (p & 0xff);
    const end = start + (1 << (32 - length));
    for (let j = start; j < end; j++) if (replace(this.tbl8[j])) this.tbl8[j] = value;
    this.collapse(i);
  }

  /** A tbl8 group whose 256 entries are one rule of depth <= 24 (or all invalid) goes back into tbl24. */
  private collapse(i: number): void {
    const e = this.tbl24[i];
    const base = (e & NH_MASK) << 8;
    const first = this.tbl8[base];
    if ((first & VALID) !== 0 && first >>> DEPTH_SHIFT > 24) return;
    for (let j = base + 1; j < base + 256; j++) if (this.tbl8[j] !== first) return;
    this.tbl24[i] = first;
    this.freeGroups.push(e & NH_MASK);
  }
}
