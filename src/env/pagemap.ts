// Virtual -> physical address translation through /proc/self/pagemap (Linux Documentation:
// admin-guide/mm/pagemap.rst). The file holds one 64-bit little-endian entry per virtual page of the base
// page size (4 KiB), at file offset (virtual address / page size) * 8:
//   bits 0-54  page frame number (PFN) if present
//   bit  63    page present
// Since Linux 4.0 the PFN reads as 0 unless the reader has CAP_SYS_ADMIN, which is how we detect that.
import * as fs from 'fs';
import { TinyNfError } from './environment';

export const PAGEMAP_ENTRY_BYTES = 8;
const PFN_HIGH_MASK = 0x007fffff; // bits 32..54 of the entry, as bits 0..22 of its high word
const PRESENT_HIGH_BIT = 0x80000000; // bit 63 of the entry, as bit 31 of its high word
const TWO_POW_32 = 0x1_0000_0000;

/** One pagemap entry, decoded. */
export interface PagemapEntry {
  readonly present: boolean;
  /** Page frame number (physical address / page size); 0 when unprivileged or not present. */
  readonly pfn: number;
}

/** Decode the 8 little-endian bytes of a pagemap entry (no BigInt: two 32-bit halves). */
export function decodePagemapEntry(bytes: Uint8Array): PagemapEntry {
  const view = new DataView(bytes.buffer, bytes.byteOffset, PAGEMAP_ENTRY_BYTES);
  const low = view.getUint32(0, true);
  const high = view.getUint32(4, true);
  return { present: (high & PRESENT_HIGH_BIT) !== 0, pfn: (high & PFN_HIGH_MASK) * TWO_POW_32 + low };
}

/**
 * Reads pagemap entries. Opened once per translation batch; the path is configurable so tests can substitute
 * a fake file (e.g. /dev/zero, which reads as "PFN 0" the way an unprivileged reader sees the real file).
 */
export class Pagemap {
  constructor(
    readonly path: string,
    readonly pageSize: number,
  ) {}

  /** The entry for the page containing `virtualAddress`. */
  read(virtualAddress: number): PagemapEntry {
    return this.readMany(virtualAddress, 1)[0];
  }

  /** Entries for `count` consecutive pages starting at the page containing `virtualAddress`. */
  readMany(virtualAddress: number, count: number): PagemapEntry[] {
    const firstPage = Math.floor(virtualAddress / this.pageSize);
    let fd: number;
    try {
      fd = fs.openSync(this.path, 'r');
    } catch (e) {
      throw new TinyNfError(`cannot open ${this.path} to find physical addresses: ${(e as Error).message}`);
    }
    try {
      const all = new Uint8Array(PAGEMAP_ENTRY_BYTES * count);
      const got = fs.readSync(fd, all, 0, all.length, firstPage * PAGEMAP_ENTRY_BYTES);
      if (got !== all.length) {
        throw new TinyNfError(`short read from ${this.path} (${got} of ${all.length} bytes) at page ${firstPage}`);
      }
      const entries: PagemapEntry[] = [];
      for (let i = 0; i < count; i++) {
        entries.push(decodePagemapEntry(all.subarray(i * PAGEMAP_ENTRY_BYTES, (i + 1) * PAGEMAP_ENTRY_BYTES)));
      }
      return entries;
    } finally {
      fs.closeSync(fd);
    }
  }

  /**
   * Physical address of `virtualAddress`, with the errors a user can fix: PFN 0 (not privileged), page not
   * present (not resident: DMA memory must be populated and locked first).
   */
  physicalAddress(virtualAddress: number): number {
    const e = this.read(virtualAddress);
    checkEntry(e, virtualAddress, this.path);
    return e.pfn * this.pageSize + (virtualAddress % this.pageSize);
  }
}

/** Throw the one-line error for an unusable entry. */
export function checkEntry(e: PagemapEntry, virtualAddress: number, path: string): void {
  if (e.pfn === 0) {
    throw new TinyNfError(
      `${path} gave PFN 0 for address 0x${virtualAddress.toString(16)}: reading physical addresses needs ` +
        `CAP_SYS_ADMIN, run tinynf as root (sudo)`,
    );
  }
  if (!e.present) {
    throw new TinyNfError(`page at 0x${virtualAddress.toString(16)} is not resident (${path}): DMA memory must be locked`);
  }
}
