// The environment interface: everything the driver needs from the outside world.
// Two implementations: linux.ts (hugetlbfs, /proc/self/pagemap, sysfs) and simulated.ts (memory owned by
// the in-memory 82599 in src/sim). The driver (src/ixgbe) only ever sees this interface.
import type { DeviceMemory } from './device-memory';
import type { IoPortBar } from './io-bar';

/** A physically contiguous, zero-filled DMA allocation. */
export interface DmaMemory {
  /** The SharedArrayBuffer holding the allocation (may be larger than it: use byteOffset/byteLength). */
  readonly buffer: SharedArrayBuffer;
  /** Offset of the allocation's first byte inside `buffer`. */
  readonly byteOffset: number;
  /** Usable length in bytes (at least what was asked for). */
  readonly byteLength: number;
  /** Physical (bus) address of the allocation's first byte; byte k is at phys + k. Always < 2^53. */
  readonly phys: number;
}

/** A PCI address in sysfs form, e.g. "0000:03:00.0". */
export type PciAddress = string;

export interface Environment {
  /** Short name for messages ("linux", "simulated"). */
  readonly name: string;
  /**
   * Allocate `bytes` of DMA-able memory, physically contiguous, zero-filled, aligned to at least 4096
   * bytes. At most HUGE_PAGE_SIZE bytes per allocation (as TinyNF's tn_mem_allocate).
   */
  allocateDma(bytes: number): DmaMemory;
  /** Physical address of byte `offset` of `buffer`, which must come from allocateDma. */
  virtToPhys(buffer: SharedArrayBuffer, offset: number): number;
  /** Read a 32-bit little-endian value from PCI configuration space (offset 4-byte aligned, < 4096). */
  pciRead32(address: PciAddress, offset: number): number;
  /** Write a 32-bit little-endian value to PCI configuration space. */
  pciWrite32(address: PciAddress, offset: number, value: number): void;
  /**
   * Map BAR0 of the device. Checks first that the device exists, is 0x8086:0x10FB and that BAR0 is a
   * 64-bit memory BAR (see checkBar0 in pci-checks.ts). The returned buffer holds little-endian 32-bit registers.
   */
  mapBar0(address: PciAddress): SharedArrayBuffer;
  /**
   * Read a clear-on-read statistics register (82599 Section 8.2.3.23 Statistic Registers) of the device at
   * `address`, whose BAR0 is `bar0`: the count since the previous read of that register. On hardware this is a plain
   * read32 (the device clears the register as it answers); a simulated device, which cannot see reads, clears it here.
   */
  readStatistic32(address: PciAddress, bar0: DeviceMemory, offset: number): number;
  /** Sleep (or, simulated, advance time by) `us` microseconds. */
  sleepUs(us: number): void;
  /** Monotonic time in nanoseconds (a double: exact to well below a microsecond for centuries). */
  nowNs(): number;
}

/**
 * An environment that reaches any BAR of any PCI device, not only an 82599's BAR0: what the virtio-net driver needs
 * (a modern device's registers are in a memory BAR its capabilities name; a legacy device's in I/O BAR0).
 */
export interface PciBarEnvironment extends Environment {
  /** Map memory BAR `bar` (0..5) of the device (checks that it is a memory BAR). Access it only through DeviceMemory. */
  mapMemoryBar(address: PciAddress, bar: number): SharedArrayBuffer;
  /** Open I/O BAR `bar` (0..5) of the device for port accesses (checks that it is an I/O BAR). */
  openIoBar(address: PciAddress, bar: number): IoPortBar;
}

/** 2 MiB: the huge page size DMA memory comes from. */
export const HUGE_PAGE_SIZE = 2 * 1024 * 1024;

/** The only device this driver supports: Intel 82599ES SFI/SFP+ (X520). */
export const PCI_VENDOR_INTEL = 0x8086;
export const PCI_DEVICE_82599ES_SFP = 0x10fb;

const PCI_ADDRESS_RE = /^[0-9a-f]{4}:[0-9a-f]{2}:[0-1][0-9a-f]\.[0-7]$/;

/** Normalise a PCI address ("3:00.0" / "03:00.0" / "0000:03:00.0") to sysfs form, or throw a clear error. */
export function parsePciAddress(text: string): PciAddress {
  let t = text.trim().toLowerCase();
  if (/^[0-9a-f]{1,2}:[0-9a-f]{2}\.[0-7]$/.test(t)) {
    t = '0000:' + t.padStart(7, '0');
  }
  if (!PCI_ADDRESS_RE.test(t)) {
    throw new TinyNfError(
      `malformed PCI address '${text}': expected DOMAIN:BUS:DEVICE.FUNCTION in hex, e.g. 0000:03:00.0`,
    );
  }
  return t;
}

/** The host must be little-endian: registers and descriptors are little-endian and we use typed arrays. */
export const HOST_IS_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export function assertLittleEndianHost(): void {
  if (!HOST_IS_LITTLE_ENDIAN) {
    throw new TinyNfError('tinynf needs a little-endian host (the 82599 is little-endian and we map it directly)');
  }
}

/** Read a 32-bit little-endian value from a byte array (endianness helper for non-aligned data). */
export function readLe32(bytes: Uint8Array, offset: number): number {
  return (bytes[offset] | (bytes[offset + 1] << 8) | (bytes[offset + 2] << 16) | (bytes[offset + 3] << 24)) >>> 0;
}

/** Write a 32-bit little-endian value into a byte array. */
export function writeLe32(bytes: Uint8Array, offset: number, value: number): void {
  bytes[offset] = value & 0xff;
  bytes[offset + 1] = (value >>> 8) & 0xff;
  bytes[offset + 2] = (value >>> 16) & 0xff;
  bytes[offset + 3] = (value >>> 24) & 0xff;
}

/**
 * An error a user can cause (not root, no huge pages, bad address, bad config...). The CLI prints its
 * message alone on one line and exits with a non-zero code; anything else is a bug and shows a stack.
 */
export class TinyNfError extends Error {
  constructor(message: string, readonly exitCode: number = 1) {
    super(message);
    this.name = 'TinyNfError';
  }
}
