// The simulated environment: the same Environment interface over memory owned by the in-memory 82599
// (src/sim). It does not import the simulator: any object with the shape of SimulatedPlatform will do
// (src/sim/machine.ts provides one), which keeps the driver -> env -> OS layering intact.
import {
  DmaMemory,
  Environment,
  HUGE_PAGE_SIZE,
  PciAddress,
  TinyNfError,
  parsePciAddress,
} from './environment';
import type { DeviceMemory } from './device-memory';
import { checkDeviceAndBar0 } from './pci-checks';

/** What the in-memory NIC(s) must offer to be used as an environment. */
export interface SimulatedPlatform {
  /** Allocate zero-filled DMA memory from the simulated physical memory (4 KiB aligned). */
  allocateDma(bytes: number): DmaMemory;
  /** Physical address of byte `offset` of `buffer` (a buffer returned inside a DmaMemory). */
  virtToPhys(buffer: SharedArrayBuffer, offset: number): number;
  /** Whether a simulated PCI function answers at this address. */
  hasDevice(address: PciAddress): boolean;
  configRead32(address: PciAddress, offset: number): number;
  configWrite32(address: PciAddress, offset: number, value: number): void;
  /** The device's BAR0 register file (the NIC polls it, as hardware would see bus writes). */
  bar0(address: PciAddress): SharedArrayBuffer;
  /**
   * Optional: read-and-clear a statistics register of BAR0 (byte `offset`), as the device does when a driver reads
   * it. Without it, statistics read as plain registers (totals, never cleared).
   */
  readStatistic32?(address: PciAddress, offset: number): number;
  /** Let `us` microseconds pass: inline mode advances simulated time and runs the NICs; worker mode sleeps. */
  advanceUs(us: number): void;
  /** Current (simulated or real) monotonic time in ns. */
  nowNs(): number;
}

export class SimulatedEnvironment implements Environment {
  readonly name = 'simulated';

  constructor(readonly platform: SimulatedPlatform) {}

  allocateDma(bytes: number): DmaMemory {
    if (!Number.isInteger(bytes) || bytes <= 0 || bytes > HUGE_PAGE_SIZE) {
      throw new TinyNfError(`DMA allocation of ${bytes} bytes refused: must be between 1 and ${HUGE_PAGE_SIZE} bytes`);
    }
    return this.platform.allocateDma(bytes);
  }

  virtToPhys(buffer: SharedArrayBuffer, offset: number): number {
    return this.platform.virtToPhys(buffer, offset);
  }

  pciRead32(address: PciAddress, offset: number): number {
    return this.platform.configRead32(this.device(address), checkConfigOffset(offset));
  }

  pciWrite32(address: PciAddress, offset: number, value: number): void {
    this.platform.configWrite32(this.device(address), checkConfigOffset(offset), value >>> 0);
  }

  mapBar0(address: PciAddress): SharedArrayBuffer {
    const a = this.device(address);
    checkDeviceAndBar0(a, (off) => this.platform.configRead32(a, off));
    return this.platform.bar0(a);
  }

  readStatistic32(address: PciAddress, bar0: DeviceMemory, offset: number): number {
    const read = this.platform.readStatistic32;
    return read === undefined ? bar0.read32(offset) : read.call(this.platform, address, offset);
  }

  sleepUs(us: number): void {
    this.platform.advanceUs(us);
  }

  nowNs(): number {
    return this.platform.nowNs();
  }

  private device(address: PciAddress): PciAddress {
    const a = parsePciAddress(address);
    if (!this.platform.hasDevice(a)) {
      throw new TinyNfError(`no PCI device at ${a} (simulated machine)`);
    }
    return a;
  }
}

export function checkConfigOffset(offset: number): number {
  if (!Number.isInteger(offset) || offset < 0 || offset > 4092 || offset % 4 !== 0) {
    throw new TinyNfError(`PCI config offset ${offset} invalid: must be a multiple of 4 below 4096`);
  }
  return offset;
}
