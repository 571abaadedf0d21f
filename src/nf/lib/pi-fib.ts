// A protocol-independent FIB (after "Protocol-Independent FIB Architecture for Network Overlays"): the lookup key is
// not a header field the code knows, but a configured byte range of the frame, (offset, length) with length 1..16,
// so one table serves an IPv4 destination (offset 30, length 4), a destination MAC (offset 0, length 6), a VLAN tag,
// an MPLS label or an inner header of an already-encapsulated frame alike.
// - Exact match on the key bytes (no longest-prefix match): the bytes are packed big-endian into four 32-bit words
//   (zero padded; the length is fixed per FIB, so the padding is unambiguous) and looked up in a fixed-capacity
//   FlowTable (keyed hash with the per-process secret, bounded linear probing). Entries never expire.
// - A lookup reads the key with at most four DataView reads and never allocates.
import { TinyNfError } from '../../env/environment';
import { FlowTable } from './flow-table';
import { ETH_MAX_FRAME } from './ethernet';

/** lookup() result: the frame is shorter than offset + length, so it has no key. */
export const KEY_OUT_OF_FRAME = -2;
/** lookup() result: no entry for the key. */
export const FIB_MISS = -1;
export const MAX_KEY_BYTES = 16;
/** The key must lie within a maximum-size Ethernet frame without FCS (1514 bytes, no jumbo frames). */
export const MAX_KEY_END = ETH_MAX_FRAME;

/** Pack key bytes (1..16) big-endian into four words, zero padded, exactly as lookup() reads them from a frame. */
export function keyWords(bytes: Uint8Array): [number, number, number, number] {
  const w: [number, number, number, number] = [0, 0, 0, 0];
  for (let i = 0; i < bytes.length; i++) w[i >>> 2] = (w[i >>> 2] | (bytes[i] << (24 - 8 * (i & 3)))) >>> 0;
  return w;
}

export class PiFib {
  private readonly table: FlowTable;
  /** Per key word: the mask of the bytes the key has in it (0 for words beyond the key). */
  private readonly m0: number;
  private readonly m1: number;
  private readonly m2: number;
  private readonly m3: number;
  /** Entry index per table entry id (-1 = none). */
  private readonly entryOfSlot: Int32Array;
  private count = 0;

  constructor(
    readonly offset: number,
    readonly length: number,
    readonly capacity: number,
  ) {
    if (!Number.isInteger(length) || length < 1 || length > MAX_KEY_BYTES) {
      throw new TinyNfError(`FIB key length must be 1..${MAX_KEY_BYTES} bytes, got ${length}`);
    }
    if (!Number.isInteger(offset) || offset < 0 || offset + length > MAX_KEY_END) {
      throw new TinyNfError(`FIB key offset ${offset} + length ${length} must lie within a ${MAX_KEY_END}-byte frame`);
    }
    if (!Number.isInteger(capacity) || capacity < 1 || capacity > 1 << 24) {
      throw new TinyNfError(`FIB capacity must be 1..${1 << 24}, got ${capacity}`);
    }
    const mask = (word: number): number => {
      const bytes = Math.max(0, Math.min(4, length - 4 * word));
      return bytes === 0 ? 0 : (0xffffffff << (8 * (4 - bytes))) >>> 0;
    };
    this.m0 = mask(0);
    this.m1 = mask(1);
    this.m2 = mask(2);
    this.m3 = mask(3);
    this.table = new FlowTable(capacity, Number.POSITIVE_INFINITY);
    this.entryOfSlot = new Int32Array(this.table.capacity).fill(-1);
  }

  get size(): number {
    return this.count;
  }

  /** Longest probe sequence seen (diagnostics; bounded by the flow table's MAX_PROBES). */
  get maxProbes(): number {
    return this.table.maxProbes;
  }

  /** Add `entry` for the key bytes (exactly `length` of them). Throws on a duplicate key or a full table. */
  add(key: Uint8Array, entry: number): void {
    if (key.length !== this.length) {
      throw new TinyNfError(`FIB key has ${key.length} bytes, the FIB's keys have ${this.length}`);
    }
    const [k0, k1, k2, k3] = keyWords(key);
    const slot = this.table.findOrInsert(k0 | 0, k1 | 0, k2 | 0, k3 | 0);
    if (slot < 0) throw new TinyNfError(`FIB full: capacity ${this.capacity} reached`);
    if (!this.table.isNew) throw new TinyNfError(`duplicate FIB key ${Buffer.from(key).toString('hex')}`);
    this.entryOfSlot[slot] = entry;
    this.count++;
  }

  /** Entry for the key bytes of the frame in `data` (`length` bytes), FIB_MISS, or KEY_OUT_OF_FRAME. */
  lookup(data: DataView, length: number): number {
    const off = this.offset;
    if (off + this.length > length) return KEY_OUT_OF_FRAME;
    // Whole words past the key are not read; a partial last word is read whole (within the 2 KiB buffer, since
    // the key ends within 1514 bytes) and masked.
    // int32 words (`& mask` is one): a uint32 above 2^31 would be a (boxed) double when passed on
    const k0 = data.getInt32(off) & this.m0;
    const k1 = this.m1 === 0 ? 0 : data.getInt32(off + 4) & this.m1;
    const k2 = this.m2 === 0 ? 0 : data.getInt32(off + 8) & this.m2;
    const k3 = this.m3 === 0 ? 0 : data.getInt32(off + 12) & this.m3;
    const slot = this.table.find(k0, k1, k2, k3);
    return slot < 0 ? FIB_MISS : this.entryOfSlot[slot];
  }
}

/**
 * Parse a key written in a config: dotted IPv4 ("10.1.0.1"), colon- or dash-separated hex bytes
 * ("02:00:00:00:00:01"), or hex digits with an optional 0x ("0a010001"). Returns the bytes, or null if unreadable.
 */
export function parseKeyBytes(text: string): Uint8Array | null {
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(text)) {
    const parts = text.split('.').map(Number);
    if (parts.some((p) => p > 255)) return null;
    return Uint8Array.from(parts);
  }
  if (/^[0-9a-fA-F]{1,2}([:-][0-9a-fA-F]{1,2})*$/.test(text) && /[:-]/.test(text)) {
    return Uint8Array.from(text.split(/[:-]/).map((h) => parseInt(h, 16)));
  }
  const hex = text.startsWith('0x') || text.startsWith('0X') ? text.slice(2) : text;
  if (hex.length > 0 && hex.length % 2 === 0 && /^[0-9a-fA-F]+$/.test(hex)) {
    return Uint8Array.from(Buffer.from(hex, 'hex'));
  }
  return null;
}
