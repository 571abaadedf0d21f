// Maglev consistent hashing (Eisenbud et al., "Maglev: A Fast and Reliable Software Network Load Balancer",
// NSDI'16, Section 3.4): a lookup table of prime size M whose entries name backends, filled so that
// - every backend gets M/N entries, give or take one (balance), and
// - adding or removing a backend changes few entries other than those it gains or loses (minimal disruption).
// Each backend i has a preference list over the table, the permutation
//     offset_i = h1(name_i) mod M,  skip_i = h2(name_i) mod (M - 1) + 1,  permutation_i[j] = (offset_i + j * skip_i) mod M
// (a permutation of 0..M-1 because M is prime and 1 <= skip_i < M), and the backends take turns claiming the next
// entry of their list that is still free (Pseudocode 1 of the paper) until the table is full. Permutations are
// computed on the fly from (offset, skip), not stored: O(N) memory instead of O(N * M).
//
// Determinism: h1 and h2 are fixed, unkeyed hashes of the name (FNV-1a 32-bit with two different offset bases, then
// a Murmur3 finaliser), and callers list the backends in a canonical order (the LB sorts them by name), so every
// load balancer with the same backends and table size builds the same table — Maglev relies on that so that a
// flow's packets reach the same backend whichever LB machine they hit. (Flow selection itself is keyed
// separately by the LB.)

/** Whether n is prime (trial division; n up to 2^32). */
export function isPrime(n: number): boolean {
  if (!Number.isInteger(n) || n < 2) return false;
  if (n % 2 === 0) return n === 2;
  if (n % 3 === 0) return n === 3;
  for (let d = 5; d * d <= n; d += 6) {
    if (n % d === 0 || n % (d + 2) === 0) return false;
  }
  return true;
}

/** The smallest prime >= n. */
export function nextPrime(n: number): number {
  let p = Math.max(2, Math.ceil(n));
  while (!isPrime(p)) p++;
  return p;
}

const FNV_PRIME = 0x01000193;
/** FNV-1a's offset basis (h1) and another fixed basis (h2): two independent-looking hashes of the same bytes. */
const FNV_BASIS_1 = 0x811c9dc5;
const FNV_BASIS_2 = 0x5bd1e995;

function fnv1a(bytes: Uint8Array, basis: number): number {
  let h = basis;
  for (let i = 0; i < bytes.length; i++) {
    h ^= bytes[i];
    h = Math.imul(h, FNV_PRIME);
  }
  // Murmur3 fmix32: FNV alone leaves similar names ("b1", "b2") with correlated low bits
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

const encoder = new TextEncoder();

/** Backend name hashes h1 (offset) and h2 (skip), 32-bit unsigned. */
export function nameHash1(name: string): number {
  return fnv1a(encoder.encode(name), FNV_BASIS_1);
}
export function nameHash2(name: string): number {
  return fnv1a(encoder.encode(name), FNV_BASIS_2);
}

/** A backend's place in the table: its permutation is (offset + j * skip) mod size. */
export interface MaglevPermutation {
  offset: number;
  skip: number;
}

export function permutationOf(name: string, size: number): MaglevPermutation {
  return { offset: nameHash1(name) % size, skip: (nameHash2(name) % (size - 1)) + 1 };
}

/**
 * Fill `table` (length = the prime table size M) with indices into `backends` (Pseudocode 1 of the paper), or with -1
 * everywhere if there are none. Needs backends.length <= M. `next` is scratch space of at least backends.length
 * entries (so a rebuild can run without allocating).
 */
export function populate(backends: readonly MaglevPermutation[], table: Int32Array, next: Float64Array = new Float64Array(backends.length)): void {
  const m = table.length;
  table.fill(-1);
  const n = backends.length;
  if (n === 0) return;
  if (n > m) throw new RangeError(`maglev: ${n} backends do not fit a table of ${m} entries`);
  for (let i = 0; i < n; i++) next[i] = 0;
  let filled = 0;
  for (;;) {
    for (let i = 0; i < n; i++) {
      const { offset, skip } = backends[i];
      // the next free entry on backend i's preference list; (offset + j * skip) mod m without overflow:
      // j < m <= 2^24 and skip < m, so j * skip < 2^48 is exact in a double
      let j = next[i];
      let c = (offset + j * skip) % m;
      while (table[c] >= 0) {
        j++;
        c = (offset + j * skip) % m;
      }
      table[c] = i;
      next[i] = j + 1;
      if (++filled === m) return;
    }
  }
}

/** Entries per backend index (length n). */
export function entriesPerBackend(table: Int32Array, n: number): number[] {
  const counts = new Array<number>(n).fill(0);
  for (let e = 0; e < table.length; e++) if (table[e] >= 0) counts[table[e]]++;
  return counts;
}
