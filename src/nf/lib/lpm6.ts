// IPv6 longest-prefix match: a multibit trie of stride 8 (one level per address byte, as the tbl8 levels of DPDK's
// rte_lpm6) with controlled prefix expansion. A group is 256 entries indexed by one address byte; an entry is
// invalid (0), a leaf (next hop + 1) or a child group (~index). A lookup reads one entry per byte until a leaf: at
// most 16 reads (a /48 route: 6), no allocation; the address is read straight from the packet (`bytes`, `offset`).
//
// Adding a rule of depth d writes every entry its range covers whose depth is <= d, descending into child groups
// (so an entry always holds the longest rule covering it); removing it rewrites the entries of depth exactly d with
// the longest remaining rule covering them, and a child group left holding one leaf everywhere goes back to its
// parent. Memory: 1.25 KiB per group (Int32 entry + depth byte).
import { TinyNfError } from '../../env/environment';
import { LPM_MISS } from './lpm4';

export { LPM_MISS } from './lpm4';
export const LPM6_MAX_NEXT_HOP = 0x7ffffffe;

function maskedKey(addr: Uint8Array, depth: number): string {
  let s = '';
  for (let i = 0; i < 16; i++) {
    const bits = Math.max(0, Math.min(8, depth - 8 * i));
    s += (addr[i] & ((0xff << (8 - bits)) & 0xff)).toString(16).padStart(2, '0');
  }
  return `${s}/${depth}`;
}

export class Lpm6 {
  private readonly entries: Int32Array;
  private readonly depths: Uint8Array;
  private readonly freeGroups: number[] = [];
  private readonly rules = new Map<string, number>();

  /** `groups`: trie nodes available (the root is one; each longer prefix needs up to one per byte beyond the first). */
  constructor(readonly groups = 4096) {
    if (!Number.isInteger(groups) || groups < 1 || groups > 1 << 20) throw new TinyNfError(`LPM6: groups must be 1..${1 << 20}, got ${groups}`);
    this.entries = new Int32Array(groups * 256);
    this.depths = new Uint8Array(groups * 256);
    for (let g = groups - 1; g >= 1; g--) this.freeGroups.push(g); // group 0 is the root
  }

  get size(): number {
    return this.rules.size;
  }

  get groupsUsed(): number {
    return this.groups - this.freeGroups.length;
  }

  /** The next hop of the longest prefix holding the 16-byte address at `offset` of `bytes`, or LPM_MISS. */
  lookup(bytes: Uint8Array, offset: number): number {
    const ent = this.entries;
    let g = 0;
    for (let i = 0; i < 16; i++) {
      const e = ent[(g << 8) | bytes[offset + i]];
      if (e >= 0) return e - 1;
      g = ~e;
    }
    return LPM_MISS; // not reached: level-15 entries are never child groups
  }

  /** Add (or replace) the rule address/length -> nextHop (16-byte address; bits past `length` are ignored). */
  add(address: Uint8Array, length: number, nextHop: number): void {
    if (address.length !== 16) throw new TinyNfError(`LPM6: an address has 16 bytes, got ${address.length}`);
    if (!Number.isInteger(length) || length < 0 || length > 128) throw new TinyNfError(`LPM6: prefix length must be 0..128, got ${length}`);
    if (!Number.isInteger(nextHop) || nextHop < 0 || nextHop > LPM6_MAX_NEXT_HOP) throw new TinyNfError(`LPM6: next hop must be 0..${LPM6_MAX_NEXT_HOP}, got ${nextHop}`);
    // groups needed in the worst case: one per level below the root that the prefix descends through
    const levels = Math.max(0, Math.ceil(length / 8) - 1);
    if (this.freeGroups.length < levels && this.missingGroups(address, length) > this.freeGroups.length) {
      throw new TinyNfError(`LPM6: out of trie groups (${this.groups}); create the table with more`);
    }
    this.rules.set(maskedKey(address, length), nextHop);
    this.write(0, 0, address, length, nextHop + 1, length, (e, d) => e >= 0 && (e === 0 || d <= length));
  }

  /** Remove the rule address/length; returns whether there was one. */
  remove(address: Uint8Array, length: number): boolean {
    if (address.length !== 16 || !Number.isInteger(length) || length < 0 || length > 128) return false;
    if (!this.rules.delete(maskedKey(address, length))) return false;
    let value = 0;
    let depth = 0;
    for (let d = length - 1; d >= 0; d--) {
      const nh = this.rules.get(maskedKey(address, d));
      if (nh !== undefined) {
        value = nh + 1;
        depth = d;
        break;
      }
    }
    this.write(0, 0, address, length, value, depth, (e, d) => e > 0 && d === length);
    return true;
  }

  /** Child groups the prefix would need that do not exist yet. */
  private missingGroups(address: Uint8Array, length: number): number {
    let g = 0;
    let missing = 0;
    for (let level = 0; 8 * (level + 1) < length; level++) {
      if (missing > 0) {
        missing++;
        continue;
      }
      const e = this.entries[(g << 8) | address[level]];
      if (e < 0) g = ~e;
      else missing++;
    }
    return missing;
  }

  /** In group g at `level`, write (value, depth) into the entries of address/length for which replace() holds. */
  private write(g: number, level: number, address: Uint8Array, length: number, value: number, depth: number, replace: (e: number, d: number) => boolean): void {
    const bits = length - 8 * level;
    if (bits <= 8) {
      const start = (g << 8) | (address[level] & ((0xff << (8 - bits)) & 0xff));
      const end = start + (1 << (8 - bits));
      for (let i = start; i < end; i++) this.cover(i, value, depth, replace);
      return;
    }
    const i = (g << 8) | address[level];
    let e = this.entries[i];
    if (e >= 0) {
      const child = this.freeGroups.pop()!; // checked by add(); remove() only descends where a child exists
      this.entries.fill(e, child << 8, (child << 8) + 256);
      this.depths.fill(this.depths[i], child << 8, (child << 8) + 256);
      e = ~child;
      this.entries[i] = e;
      this.depths[i] = 0;
    }
    this.write(~e, level + 1, address, length, value, depth, replace);
    this.collapse(i);
  }

  /** Entry i and, if it is a child group, everything under it. */
  private cover(i: number, value: number, depth: number, replace: (e: number, d: number) => boolean): void {
    const e = this.entries[i];
    if (e < 0) {
      const base = ~e << 8;
      for (let k = base; k < base + 256; k++) this.cover(k, value, depth, replace);
      this.collapse(i);
    } else if (replace(e, this.depths[i])) {
      this.entries[i] = value;
      this.depths[i] = depth;
    }
  }

  /** Entry i points at a child group whose entries are all one leaf (or all invalid): put the leaf back in i. */
  private collapse(i: number): void {
    const e = this.entries[i];
    if (e >= 0) return;
    const child = ~e;
    const base = child << 8;
    const v = this.entries[base];
    const d = this.depths[base];
    if (v < 0) return;
    for (let k = base + 1; k < base + 256; k++) if (this.entries[k] !== v || this.depths[k] !== d) return;
    this.entries[i] = v;
    this.depths[i] = d;
    this.freeGroups.push(child);
  }
}
