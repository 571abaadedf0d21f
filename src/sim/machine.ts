// A simulated machine: several 82599 ports sharing one physical memory, run inline with a simulated clock.
// It implements src/env/simulated.ts's SimulatedPlatform, so the real driver runs on it unmodified: the driver's
// sleeps (env.sleepUs) advance the clock and run the NICs, which is how its init polling loops complete.
//
// Inline time: advanceNs(ns) first polls every NIC fully at the current time (noticing what the driver wrote since
// the last poll), then advances in steps of `stepNs` (growing up to `maxIdleStepNs` while nothing happens), running
// the data path at each step (a full register scan every 64 steps, in case a wire callback or another thread wrote).
import { engineArea, engineWindow } from './wasm/layout';
import { DmaMemory, PciAddress, TinyNfError } from '../env/environment';
import type { Violation } from './checker';
import { DEFAULT_DMA_BYTES, DEFAULT_PHYS_BASE, PhysicalMemory, alignUp } from './memory';
import { NicStats, STAGING_BYTES, SimNic, TxPacing, pollAll } from './nic';

export interface SimMachineOptions {
  /** Number of ports (default 2, at most 64). */
  ports?: number;
  /** Bytes of simulated DMA memory (default 64 MiB). */
  dmaBytes?: number;
  /** Physical address of the DMA memory (default 0x2_0000_0000). */
  physBase?: number;
  /** MAC address of port i (default 02:00:00:5e:00:<i+1>, locally administered). */
  mac?: (i: number) => Uint8Array | string;
  /** Throw at the first violation instead of recording it. */
  strict?: boolean;
  /** Inline step (default 1000 ns). */
  stepNs?: number;
  /** Largest step while the NICs are idle (default 100 us). */
  maxIdleStepNs?: number;
  /**
   * The WebAssembly receive and transmit engines (default true; nic-rx-engine.ts, nic-tx-engine.ts): a generator's
   * frames received, and frames sent to no output transmitted, by one kernel call per burst. false: the JavaScript
   * path only (the same bytes, descriptors, counters and reports, slower): for comparisons.
   */
  engines?: boolean;
}

/** The PCI address of port i: functions 0..7 of device 0, then of the next devices, on bus 0x5e. */
export function portAddress(i: number): PciAddress {
  const device = Math.floor(i / 8);
  return `0000:5e:${device.toString(16).padStart(2, '0')}.${i % 8}`;
}

export function defaultMac(i: number): Uint8Array {
  return Uint8Array.of(0x02, 0x00, 0x00, 0x5e, (i >> 8) & 0xff, (i + 1) & 0xff);
}

export function parseMacOption(mac: Uint8Array | string): Uint8Array {
  if (typeof mac !== 'string') {
    if (mac.length !== 6) throw new TinyNfError('a MAC address has 6 bytes');
    return Uint8Array.from(mac);
  }
  const parts = mac.split(':');
  if (parts.length !== 6 || parts.some((p) => !/^[0-9a-fA-F]{1,2}$/.test(p))) {
    throw new TinyNfError(`malformed MAC address '${mac}': expected six hex bytes separated by ':'`);
  }
  return Uint8Array.from(parts.map((p) => parseInt(p, 16)));
}

export class SimMachine {
  readonly memory: PhysicalMemory;
  readonly addresses: PciAddress[];
  readonly nics: SimNic[];
  private readonly byAddress = new Map<PciAddress, SimNic>();
  private now = 0;
  private readonly stepNs: number;
  private readonly maxIdleStepNs: number;

  constructor(options: SimMachineOptions = {}) {
    const ports = options.ports ?? 2;
    if (!Number.isInteger(ports) || ports < 1 || ports > 64) throw new TinyNfError(`a simulated machine has 1 to 64 ports, got ${ports}`);
    const dmaBytes = options.dmaBytes ?? DEFAULT_DMA_BYTES;
    // Each port's staging area (receive + transmit) sits at the start of the DMA window, outside allocateDma's
    // reach, so copies between it and DMA memory are memmoves inside one buffer.
    const reserved = alignUp(ports * 2 * STAGING_BYTES, 4096);
    if (!Number.isInteger(dmaBytes) || dmaBytes < reserved + 4096) throw new TinyNfError(`dmaBytes must be at least ${reserved + 4096}`);
    // The window is a shared WebAssembly.Memory (a SharedArrayBuffer to everything else), so that each port's
    // receive engine (nic-rx-engine.ts) works on it; the engines' areas follow what allocateDma hands out.
    const allocationEnd = alignUp(dmaBytes, 4096) + reserved;
    const wasmMemory = engineWindow(allocationEnd, ports);
    const window = wasmMemory.buffer;
    const physBase = options.physBase ?? DEFAULT_PHYS_BASE;
    this.memory = new PhysicalMemory(window, physBase, reserved, allocationEnd);
    this.stepNs = options.stepNs ?? 1000;
    this.maxIdleStepNs = Math.max(this.stepNs, options.maxIdleStepNs ?? 100_000);
    if (!(this.stepNs > 0)) throw new TinyNfError('stepNs must be positive');
    this.addresses = [];
    this.nics = [];
    for (let i = 0; i < ports; i++) {
      const address = portAddress(i);
      const nic = new SimNic({
        address,
        lanId: i % 8,
        mac: parseMacOption(options.mac?.(i) ?? defaultMac(i)),
        memory: this.memory,
        strict: options.strict ?? false,
        bar0Phys: 0xf000_0000 + i * 0x100000,
        staging: { buffer: window, rxOffset: i * 2 * STAGING_BYTES, txOffset: i * 2 * STAGING_BYTES + STAGING_BYTES },
        engine: options.engines === false ? undefined : engineArea(wasmMemory, physBase, allocationEnd, i),
        sameIntervalStrict: true,
      });
      this.addresses.push(address);
      this.nics.push(nic);
      this.byAddress.set(address, nic);
    }
  }

  nic(i: number): SimNic {
    const nic = this.nics[i];
    if (nic === undefined) throw new TinyNfError(`port ${i} does not exist (the machine has ${this.nics.length})`);
    return nic;
  }

  /** Every NIC's violations, in NIC order. */
  get violations(): Violation[] {
    const all: Violation[] = [];
    for (const nic of this.nics) all.push(...nic.violations);
    return all;
  }

  get warnings(): Violation[] {
    const all: Violation[] = [];
    for (const nic of this.nics) all.push(...nic.warnings);
    return all;
  }

  /** Register more memory the NICs may DMA to (e.g. hugepages with resolved physical addresses). */
  addRegion(phys: number, buffer: SharedArrayBuffer, byteOffset: number, length: number): void {
    this.memory.addRegion(phys, buffer, byteOffset, length);
  }

  /** Forget a region added with addRegion (an IOMMU unmap, as the device sees it). */
  removeRegion(phys: number): void {
    this.memory.removeRegion(phys);
  }

  setTxPacing(port: number, pacing: TxPacing): void {
    this.nic(port).setTxPacing(pacing);
  }

  // ------------------------------------------------------------------ time

  nowNs(): number {
    return this.now;
  }

  /** One full poll of every NIC at the current time (notice register writes, do the DMA work that is due). */
  step(): void {
    pollAll(this.nics, this.now);
    this.updateStatistics();
  }

  advanceUs(us: number): void {
    this.advanceNs(us * 1000);
  }

  /** Let `ns` of simulated time pass, running the NICs. */
  advanceNs(ns: number): void {
    if (!(ns >= 0) || !Number.isFinite(ns)) throw new TinyNfError(`cannot advance time by ${ns} ns`);
    const target = this.now + ns;
    const nics = this.nics;
    pollAll(nics, this.now);
    let quantum = this.stepNs;
    let steps = 0;
    while (this.now < target) {
      this.now = Math.min(this.now + quantum, target);
      steps++;
      // a full register scan every 64 steps, else the tails and CTRL only
      const busy = pollAll(nics, this.now, (steps & 63) === 0 ? -1 : 0);
      quantum = busy ? this.stepNs : Math.min(quantum * 2, this.maxIdleStepNs);
    }
    this.updateStatistics();
  }

  private updateStatistics(): void {
    for (const nic of this.nics) nic.updateStatisticsRegisters();
  }

  // ------------------------------------------------------------------ SimulatedPlatform

  allocateDma(bytes: number): DmaMemory {
    return this.memory.allocateDma(bytes);
  }

  virtToPhys(buffer: SharedArrayBuffer, offset: number): number {
    return this.memory.virtToPhys(buffer, offset);
  }

  hasDevice(address: PciAddress): boolean {
    return this.byAddress.has(address);
  }

  configRead32(address: PciAddress, offset: number): number {
    return this.device(address).configRead32(offset);
  }

  configWrite32(address: PciAddress, offset: number, value: number): void {
    this.device(address).configWrite32(offset, value);
  }

  bar0(address: PciAddress): SharedArrayBuffer {
    return this.device(address).bar0;
  }

  /** A driver's read of a statistics register: exact, and cleared by the read as on the 82599 (Section 8.2.3.23). */
  readStatistic32(address: PciAddress, offset: number): number {
    return this.device(address).readStatistic32(offset);
  }

  /** Summed NIC counters (convenience for reports). */
  totals(): NicStats {
    const t: NicStats = { rxPackets: 0, rxBytes: 0, rxMissed: 0, rxFiltered: 0, rxNoDescriptor: 0, rxUndersize: 0, rxOversize: 0, txPackets: 0, txBytes: 0, txNullDescriptors: 0, dmaErrors: 0 };
    for (const nic of this.nics) {
      for (const k of Object.keys(t) as (keyof NicStats)[]) t[k] += nic.stats[k];
    }
    return t;
  }

  private device(address: PciAddress): SimNic {
    const nic = this.byAddress.get(address);
    if (nic === undefined) throw new TinyNfError(`no simulated PCI device at ${address}`);
    return nic;
  }
}
