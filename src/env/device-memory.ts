// Device memory (a PCI memory BAR, e.g. the 82599's BAR0): the only way the drivers touch it.
//
// A memory BAR mapped into our address space is uncacheable (UC) memory below the PCIe root complex. Three rules,
// each enforced here so that no caller can get them wrong:
//  1. Whole, aligned accesses of the register's own width. The 82599's registers are 32 bits wide and the data sheet
//     defines no narrower access (Section 8.1 Address Regions: "all registers are 32-bit"; ixgbe and TinyNF only use
//     readl/writel): its driver uses read32/write32 only. A virtio 1.x device's common configuration has 8- and
//     16-bit fields (device_status, queue_select, queue_size, queue_enable...) and its notification registers are
//     16 bits wide, and the virtio spec requires "natural" accesses (Virtio 1.1 Section 4.1.3.1 "The driver MUST
//     access each field using the 'natural' access method, i.e. 32-bit accesses for 32-bit fields, 16-bit accesses
//     for 16-bit fields and 8-bit accesses for 8-bit fields"): read8/read16/write8/write16 exist for that, with the
//     same discipline (one typed-array element of that width, alignment checked). A DataView on an mmap'd BAR is
//     split into single-byte accesses until TurboFan optimises the function (measured in a QEMU guest: a 16-bit
//     register read 0), so there is no DataView here.
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
  private readonly halves: Uint16Array;
  private readonly bytes: Uint8Array;

  constructor(bar: SharedArrayBuffer, byteLength: number = bar.byteLength) {
    checkDeviceMemoryArchitecture();
    if (byteLength % 4 !== 0 || byteLength <= 0 || byteLength > bar.byteLength) {
      throw new TinyNfError(`device memory window of ${byteLength} bytes does not fit a ${bar.byteLength}-byte BAR mapping`);
    }
    this.buffer = bar;
    this.byteLength = byteLength;
    this.words = new Uint32Array(bar, 0, byteLength / 4);
    this.halves = new Uint16Array(bar, 0, byteLength / 2);
    this.bytes = new Uint8Array(bar, 0, byteLength);
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

  /** Read the 16-bit field at byte `offset` (a multiple of 2): one aligned 16-bit load (virtio, see rule 1). */
  read16(offset: number): number {
    checkNarrowOffset(offset, 2, this.byteLength);
    return Atomics.load(this.halves, offset >>> 1);
  }

  /** Write the 16-bit field at byte `offset` (a multiple of 2): one aligned 16-bit plain store, no lock. */
  write16(offset: number, value: number): void {
    checkNarrowOffset(offset, 2, this.byteLength);
    this.halves[offset >>> 1] = value;
  }

  /** Read the 8-bit field at byte `offset`: one 8-bit load (virtio, see rule 1). */
  read8(offset: number): number {
    checkNarrowOffset(offset, 1, this.byteLength);
    return Atomics.load(this.bytes, offset);
  }

  /** Write the 8-bit field at byte `offset`: one 8-bit plain store, no lock. */
  write8(offset: number, value: number): void {
    checkNarrowOffset(offset, 1, this.byteLength);
    this.bytes[offset] = value;
  }

  /** One 16-bit register (a virtio queue's notification address), its offset checked once. */
  register16(offset: number): DeviceRegister16 {
    checkNarrowOffset(offset, 2, this.byteLength);
    return new DeviceRegister16(this.halves, offset);
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

/** A single 16-bit register of device memory at a fixed, checked offset (virtio notifications). */
export class DeviceRegister16 {
  private readonly index: number;

  /** @internal use DeviceMemory.register16() */
  constructor(
    private readonly halves: Uint16Array,
    /** Byte offset of the register in its BAR. */
    readonly offset: number,
  ) {
    this.index = offset >>> 1;
  }

  read16(): number {
    return Atomics.load(this.halves, this.index);
  }

  /** One aligned 16-bit plain store (see rule 2 above). */
  write16(value: number): void {
    this.halves[this.index] = value;
  }
}

function checkNarrowOffset(offset: number, width: 1 | 2, byteLength: number): void {
  if (offset >>> 0 !== offset || (offset & (width - 1)) !== 0 || offset + width > byteLength) {
    throw new TinyNfError(`device memory access at 0x${offset.toString(16)}: not an aligned ${width * 8}-bit field in the ${byteLength}-byte BAR`);
  }
}

function checkOffset(offset: number, byteLength: number): void {
  if (offset >>> 0 !== offset || (offset & 3) !== 0 || offset >= byteLength) {
    throw new TinyNfError(`device memory access at 0x${offset.toString(16)}: not an aligned 32-bit register in the ${byteLength}-byte BAR`);
  }
}
