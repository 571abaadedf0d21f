// Simulated physical memory: the DMA window (one SharedArrayBuffer at a physical base, with a bump allocator for
// allocateDma) plus extra regions registered later (e.g. real hugepages with their resolved physical addresses).
// Several NICs of one machine share it, as NICs on one host share its RAM.
//
// Hot path: translate(phys, length) returns a region index and leaves the byte offset in `offset`; the last region
// hit is checked first, so a translation is normally a compare and a subtraction.
import { DmaMemory, TinyNfError } from '../env/environment';

export const DEFAULT_DMA_BYTES = 64 * 1024 * 1024;
/** Physical address of the DMA window's first byte (above 4 GiB, so the high address registers matter). */
export const DEFAULT_PHYS_BASE = 0x2_0000_0000;
/** allocateDma alignment. */
export const DMA_ALIGNMENT = 4096;

/** viewAt's cache: 2^16 entries. */
const VIEW_CACHE_BITS = 16;
const VIEW_CACHE_SIZE = 1 << VIEW_CACHE_BITS;
/** Longest view viewAt hands out: the largest frame the NIC handles (16 KiB) plus its FCS. */
const VIEW_BYTES = 16 * 1024 + 64;
const EMPTY_VIEW = new Uint8Array(0);

export interface MemoryRegion {
  readonly phys: number;
  /** phys + length. */
  readonly end: number;
  readonly buffer: SharedArrayBuffer;
  /** Offset of the region's first byte inside `buffer`. */
  readonly byteOffset: number;
  readonly length: number;
  /** The whole buffer as bytes (offsets into it are byteOffset + (phys - region.phys)). */
  readonly bytes: Uint8Array;
  /** The whole buffer as 32-bit words (word w is bytes 4w..4w+3), for word-wise frame copies. */
  readonly words: Int32Array;
}

export class PhysicalMemory {
  readonly regions: MemoryRegion[] = [];
  /** Byte offset (inside regions[i].buffer) computed by the last successful translate(). */
  offset = 0;
  private last = 0;
  private allocated: number;

  /**
   * `reserved` bytes at the start of the window are kept out of allocateDma (the simulator's staging area), and so
   * is everything from `allocationEnd` on (the ports' engine areas, wasm/layout.ts).
   */
  constructor(
    readonly window: SharedArrayBuffer,
    readonly windowPhys: number = DEFAULT_PHYS_BASE,
    readonly reserved = 0,
    readonly allocationEnd = window.byteLength,
  ) {
    if (windowPhys % DMA_ALIGNMENT !== 0 || windowPhys < 0 || windowPhys + window.byteLength > Number.MAX_SAFE_INTEGER) {
      throw new TinyNfError(`DMA window physical base 0x${windowPhys.toString(16)} must be 4 KiB aligned and below 2^53`);
    }
    this.allocated = alignUp(reserved, DMA_ALIGNMENT);
    // (the receive engines' areas past allocationEnd are the NICs' own memory: not reachable by DMA)
    this.addRegion(windowPhys, window, 0, allocationEnd);
  }

  /** Byte views of DMA memory by physical address (viewAt): a hash table of VIEW_CACHE_SIZE entries, tag = phys. */
  private readonly viewPhys = new Float64Array(VIEW_CACHE_SIZE).fill(-1);
  private readonly views: Uint8Array[] = new Array<Uint8Array>(VIEW_CACHE_SIZE).fill(EMPTY_VIEW);

  /**
   * A view of DMA memory starting at `phys`, at least `length` bytes long (to the end of its region, at most
   * VIEW_BYTES), or null if [phys, phys + length) is not inside one region. Views are cached by address, so a
   * buffer that comes back (a ring's fixed buffers, or a pool's recycled ones in the flexible model) costs no
   * allocation: the data path hands out views with no allocation per frame.
   */
  viewAt(phys: number, length: number): Uint8Array | null {
    const k = Math.imul((phys / 64) >>> 0, 0x9e3779b1) >>> (32 - VIEW_CACHE_BITS);
    if (this.viewPhys[k] === phys) {
      const v = this.views[k];
      if (v.length >= length) return v;
    }
    if (phys === 0) return null;
    const r = this.translate(phys, length);
    if (r < 0) return null;
    const region = this.regions[r];
    const end = region.byteOffset + region.length;
    const v = new Uint8Array(region.buffer, this.offset, Math.min(VIEW_BYTES, end - this.offset));
    this.viewPhys[k] = phys;
    this.views[k] = v;
    return v;
  }

  /** Register memory the NICs may DMA to: physical [phys, phys + length) is buffer[byteOffset ...]. */
  addRegion(phys: number, buffer: SharedArrayBuffer, byteOffset: number, length: number): void {
    if (!Number.isInteger(phys) || phys < 0 || !Number.isInteger(length) || length <= 0 || byteOffset < 0 || byteOffset + length > buffer.byteLength) {
      throw new TinyNfError(`invalid DMA region: phys 0x${phys.toString(16)}, ${length} bytes at offset ${byteOffset} of a ${buffer.byteLength}-byte buffer`);
    }
    for (const r of this.regions) {
      if (phys < r.end && r.phys < phys + length) {
        throw new TinyNfError(`DMA region at 0x${phys.toString(16)} overlaps the region at 0x${r.phys.toString(16)}`);
      }
    }
    this.regions.push({ phys, end: phys + length, buffer, byteOffset, length, bytes: new Uint8Array(buffer), words: new Int32Array(buffer, 0, buffer.byteLength >>> 2) });
  }

  /**
   * Forget the region that starts at `phys` (not the window): the NICs no longer reach it. What an IOMMU unmap
   * looks like to the device (the VFIO tests' model of the kernel uses it). Queues translate their ring once when
   * enabled, so a ring already in use keeps its memory; buffers are translated per access and fault at once.
   */
  removeRegion(phys: number): void {
    const i = this.regions.findIndex((r, k) => k > 0 && r.phys === phys);
    if (i < 0) throw new TinyNfError(`no DMA region starts at 0x${phys.toString(16)}`);
    this.regions.splice(i, 1);
    this.last = 0;
  }

  /** Allocate zero-filled, 4 KiB aligned memory from the window (never freed: a machine lives for one run). */
  allocateDma(bytes: number): DmaMemory {
    if (!Number.isInteger(bytes) || bytes <= 0) throw new TinyNfError(`DMA allocation of ${bytes} bytes refused`);
    const start = this.allocated;
    const end = alignUp(start + bytes, DMA_ALIGNMENT);
    if (end > this.allocationEnd) {
      throw new TinyNfError(
        `simulated DMA memory exhausted: ${bytes} bytes asked, ${this.allocationEnd - start} left of ${this.allocationEnd} (use a larger dmaBytes)`,
      );
    }
    this.allocated = end;
    new Uint8Array(this.window, start, end - start).fill(0);
    return { buffer: this.window, byteOffset: start, byteLength: end - start, phys: this.windowPhys + start };
  }

  /** Bytes of the window handed out so far (including the reserved area). */
  get allocatedBytes(): number {
    return this.allocated;
  }

  /** Physical address of byte `offset` of `buffer`, which must belong to a region. */
  virtToPhys(buffer: SharedArrayBuffer, offset: number): number {
    for (const r of this.regions) {
      if (r.buffer === buffer && offset >= r.byteOffset && offset < r.byteOffset + r.length) {
        return r.phys + (offset - r.byteOffset);
      }
    }
    throw new TinyNfError(`virtToPhys: offset ${offset} of that buffer is not simulated DMA memory`);
  }

  /**
   * Find the region holding all of [phys, phys + length): returns its index and sets `this.offset` to the byte
   * offset of `phys` inside that region's buffer; -1 if no single region holds it (or phys is 0).
   */
  translate(phys: number, length: number): number {
    const regions = this.regions;
    let r = regions[this.last];
    if (phys >= r.phys && phys + length <= r.end) {
      this.offset = r.byteOffset + (phys - r.phys);
      return this.last;
    }
    for (let i = 0; i < regions.length; i++) {
      r = regions[i];
      if (phys >= r.phys && phys + length <= r.end) {
        this.last = i;
        this.offset = r.byteOffset + (phys - r.phys);
        return i;
      }
    }
    return -1;
  }
}

export function alignUp(value: number, alignment: number): number {
  return Math.ceil(value / alignment) * alignment;
}
