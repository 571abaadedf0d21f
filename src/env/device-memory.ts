// Device memory (a PCI memory BAR, e.g. the 82599's BAR0): the only way the drivers touch it.
//
// A memory BAR mapped into our address space is uncacheable (UC) memory below the PCIe root complex. Three rules,
// each enforced here so that no caller can get them wrong:
//  1. Whole, aligned 32-bit accesses only. The 82599's registers are 32 bits wide and the data sheet defines no
//     narrower access (Section 8.1 Address Regions: "all registers are 32-bit"; ixgbe and TinyNF only use readl/writel).
//     A DataView on an mmap'd BAR is split into single-byte accesses until TurboFan optimises the function (measured
//     in a QEMU guest: a 16-bit register read 0), so there is no DataView here and no width other than 32 bits.
//  2. No locked instruction, ever. `Atomics.store`, `exchange`, `compareExchange` and the read-modify-write
//     operations compile on x86-64 to XCHG or LOCK-prefixed instructions (Node 20: the AtomicsStore builtin is an
//     `xchgl`). A native PCIe endpoint does not support locked transactions (a locked read is answered Unsupported
//     Request), so a tail written that way may be lost or fault. `write32` is a plain typed-array element store,
//     which TurboFan compiles to one aligned 32-bit `movl` (checked from V8's own output by
//     tests/env/device-memory-codegen.test.ts); Linux's writel, DPDK's rte_write32, TinyNF and ixy do the same.
//  3. Reads are `Atomics.load`, which on x86-64 is a plain `movl` (no lock): unlike a plain load it can never be
//     hoisted out of a poll loop or merged with an earlier read, which a hardware-owned bit needs.
//
// The ordering argument (why plain stores are enough for descriptor-then-tail) is the ASSUMPTION ORDERING in
// src/ixgbe/registers.ts; it holds on x86-64 only, so creating device memory refuses any other CPU.
import { TinyNfError } from './environment';

/**
 * The architectures whose memory model the ORDERING argument covers. Elsewhere (arm64, ppc64...) a plain store to
 * device memory may pass earlier stores to RAM and a barrier would be needed, which nothing here implements.
 */
export function checkDeviceMemoryArchitecture(arch: string = process.arch): void {
  if (arch !== 'x64') {
    throw new TinyNfError(
      `tinynf drives device memory only on x86-64 (this CPU is ${arch}): its register writes rely on x86-64 store ordering`,
    );
  }
}

/** A memory BAR as 32-bit little-endian registers, accessed only as whole aligned words. */
export class DeviceMemory {
  /** The mapping (SharedArrayBuffer over the BAR, so worker threads can share it). */
  readonly buffer: SharedArrayBuffer;
  /** Size of the register window in bytes (a multiple of 4). */
  readonly byteLength: number;
  private readonly words: Uint32Array;

  constructor(bar: SharedArrayBuffer, byteLength: number = bar.byteLength) {
    checkDeviceMemoryArchitecture();
    if (byteLength % 4 !== 0 || byteLength <= 0 || byteLength > bar.byteLength) {
      throw new TinyNfError(`device memory window of ${byteLength} bytes does not fit a ${bar.byteLength}-byte BAR mapping`);
    }
    this.buffer = bar;
    this.byteLength = byteLength;
    this.words = new Uint32Array(bar, 0, byteLength / 4);
  }

  /** Read the 32-bit register at byte `offset` (a multiple of 4): one aligned 32-bit load. */
  read32(offset: number): number {
    checkOffset(offset, this.byteLength);
    return Atomics.load(this.words, offset >>> 2);
  }

  /** Write the 32-bit register at byte `offset` (a multiple of 4): one aligned 32-bit plain store, no lock. */
  write32(offset: number, value: number): void {
    checkOffset(offset, this.byteLength);
    this.words[offset >>> 2] = value;
  }

  /** One register, its offset checked once: what a fast path (a tail register) keeps. */
  register(offset: number): DeviceRegister {
    checkOffset(offset, this.byteLength);
    return new DeviceRegister(this.words, offset);
  }
}

/** A single 32-bit register of device memory at a fixed, checked offset. */
export class DeviceRegister {
  private readonly index: number;

  /** @internal use DeviceMemory.register() */
  constructor(
    private readonly words: Uint32Array,
    /** Byte offset of the register in its BAR. */
    readonly offset: number,
  ) {
    this.index = offset >>> 2;
  }

  read32(): number {
    return Atomics.load(this.words, this.index);
  }

  /** One aligned 32-bit plain store (see rule 2 above). */
  write32(value: number): void {
    this.words[this.index] = value;
  }
}

function checkOffset(offset: number, byteLength: number): void {
  if (offset >>> 0 !== offset || (offset & 3) !== 0 || offset >= byteLength) {
    throw new TinyNfError(`device memory access at 0x${offset.toString(16)}: not an aligned 32-bit register in the ${byteLength}-byte BAR`);
  }
}
