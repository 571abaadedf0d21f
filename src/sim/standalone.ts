// The in-memory 82599 as a standalone device over shared files (`tinynf sim --dir DIR`), for drivers that run
// elsewhere: another process, another language (the C TinyNF), or our own driver through the Linux environment's
// hardware code path. The files and their layout are src/env/device-files.ts; the protocol is documented in
// docs/hardware.md ("Testing the hardware path without hardware").
//
// What a driver sees is what it sees on hardware: PCI config space it reads and writes (pread/pwrite, as on
// /sys/bus/pci/devices/<a>/config), BAR0 it maps (as resource0) and writes with plain stores, and descriptors and
// buffers in DMA memory whose bus addresses it writes into registers and descriptors. Nothing traps an access:
// the device notices writes by polling, as hardware sees bus writes, and
//   - BAR0: each SimNic polls its register file against a shadow copy (nic.ts);
//   - config space: ConfigSpaceWatcher below polls the Command register at every poll and the whole 4 KiB at every
//     full scan, keeping the writable Command bits (memory access, bus master, interrupt disable) of a write and
//     restoring every read-only bit, as the function would ignore them (Section 9.3; BAR sizing is not modelled);
//   - DMA: physical addresses resolve through the DMA window (byte k of DIR/dma is DMA_BASE + k) and any region
//     registered later (addRegion: e.g. real huge pages of the process the device runs in).
//
// Two ways to run it:
//   - real time (StandaloneRunner, the CLI): a loop polls every port with the monotonic clock, yielding to the
//     event loop every few milliseconds (signals, wires) and sleeping briefly when idle;
//   - inline (InlineDeviceEnvironment): the device lives in the driver's thread; the driver's environment calls
//     step() around each of its sleeps, and the program steps it between polls of its forwarders.
import { DmaMemory, Environment, PciAddress, TinyNfError } from '../env/environment';
import type { DeviceMemory } from '../env/device-memory';
import { DeviceFiles, createDeviceFiles } from '../env/device-files';
import type { Violation } from './checker';
import { defaultMac, parseMacOption, portAddress } from './machine';
import { PhysicalMemory } from './memory';
import { SimNic, pollAll } from './nic';
import * as C from './pci-config';
import * as R from './registers';
import type { WireInput, WireOutput } from './wire';
import { closeWire } from './wires/describe';

/** Default size of the DMA window file. */
export const STANDALONE_DMA_BYTES = 64 * 1024 * 1024;
/** Default DMA_BASE: above 4 GiB, so drivers must program the high halves of addresses. */
export const STANDALONE_DMA_BASE = 0x2_0000_0000;
/**
 * Physical base of the (private, 4 KiB) window when there is no DMA window file: 2^52, above every physical
 * address an x86-64 machine can have (52 bits at most), so it never overlaps a real page registered with addRegion.
 */
export const NO_WINDOW_PHYS_BASE = 2 ** 52;
/** Bus address of port i's BAR0 as written in its config space (informational; drivers map resource0). */
const BAR0_BUS_BASE = 0xf000_0000;

/**
 * Polls one function's config space for writes that arrived through the file (Section 9.3): the Command register
 * keeps its writable bits, every other write is undone (read-only here).
 */
export class ConfigSpaceWatcher {
  /** Writes to read-only config space that were undone. */
  ignoredWrites = 0;
  private readonly words: Uint32Array;
  private readonly shadow: Uint32Array;

  constructor(config: SharedArrayBuffer) {
    this.words = new Uint32Array(config, 0, C.CONFIG_BYTES / 4);
    this.shadow = this.words.slice();
  }

  /** The Command register only (every poll). Returns true if a write was noticed. */
  pollCommand(): boolean {
    const w = C.CFG_COMMAND >>> 2;
    const value = Atomics.load(this.words, w) >>> 0;
    const seen = this.shadow[w];
    if (value === seen) return false;
    // Section 9.3.3.3: the Command bits we model are writable; the Status half (Section 9.3.3.4) has only
    // read-only and write-1-to-clear bits, all 0 here, so it keeps its value.
    const fixed = ((seen & ~C.COMMAND_WRITABLE) | (value & C.COMMAND_WRITABLE)) >>> 0;
    if (fixed !== value) {
      Atomics.compareExchange(this.words, w, value, fixed);
      this.ignoredWrites++;
    }
    this.shadow[w] = fixed;
    return true;
  }

  /** The whole config space (every full scan): read-only words written since are restored. */
  pollAll(): boolean {
    let changed = this.pollCommand();
    const words = this.words;
    const shadow = this.shadow;
    const command = C.CFG_COMMAND >>> 2;
    for (let w = 0; w < words.length; w++) {
      if (w === command || words[w] === shadow[w]) continue;
      Atomics.compareExchange(words, w, words[w], shadow[w]);
      this.ignoredWrites++;
      changed = true;
    }
    return changed;
  }
}

export interface StandaloneDeviceOptions {
  /** Directory of the files (created if missing; our files in it are re-created). */
  dir: string;
  /** Number of ports (default 2, at most 64); port i is machine.ts's portAddress(i). */
  ports?: number;
  /** Size of DIR/dma (default 64 MiB); 0 = no window file (DMA memory only from addRegion). */
  dmaBytes?: number;
  /** Physical address of DIR/dma's first byte (default 0x2_0000_0000; 2^52 without a window file). */
  dmaBase?: number;
  /** MAC address of port i (default 02:00:00:5e:00:<i+1>). */
  mac?: (i: number) => Uint8Array | string;
  /** Throw at the first violation instead of recording it. */
  strict?: boolean;
  /**
   * The driver and the device take turns in one thread (InlineDeviceEnvironment): a tail written in the poll
   * interval that enabled its queue is then a violation (the driver cannot have read ENABLE back). Default false:
   * a driver running concurrently may legitimately do both between two polls.
   */
  inline?: boolean;
  /**
   * The real clock in ns, the time base of the nowNs given to poll/step (default performance.now() * 1e6, as
   * StandaloneRunner and the Linux environment's nowNs use): lets a NIC notice that its own thread stalled.
   */
  clock?: () => number;
}

/** The real clock of standalone devices: ns since this thread's performance.timeOrigin. */
export function realTimeNs(): number {
  return performance.now() * 1e6;
}

interface PortWires {
  /** An input waiting for the port to receive (attachInput with waitForReceive). */
  heldInput: WireInput | null;
  input: WireInput | null;
  outputs: WireOutput[];
}

/** The simulated ports behind a directory of device files. */
/** How long the driver must have written nothing but tails before a held input is released (releaseInputs). */
export const RELEASE_QUIET_NS = 20_000_000;

export class StandaloneDevice {
  readonly dir: string;
  readonly addresses: PciAddress[];
  readonly nics: SimNic[];
  readonly memory: PhysicalMemory;
  /** Physical address of the DMA window's first byte. */
  readonly dmaBase: number;
  /** Bytes of the DMA window file (0 if none). */
  readonly dmaBytes: number;
  readonly files: DeviceFiles;
  private readonly configs: ConfigSpaceWatcher[];
  /** Each port's register file as words (for receiving()). */
  private readonly regs: Uint32Array[] = [];
  private readonly wires: PortWires[] = [];
  private heldInputs = 0;
  private closed = false;

  private constructor(options: StandaloneDeviceOptions) {
    const ports = options.ports ?? 2;
    if (!Number.isInteger(ports) || ports < 1 || ports > 64) throw new TinyNfError(`a standalone device has 1 to 64 ports, got ${ports}`);
    const dmaBytes = options.dmaBytes ?? STANDALONE_DMA_BYTES;
    if (!Number.isInteger(dmaBytes) || dmaBytes < 0 || dmaBytes % 4096 !== 0) {
      throw new TinyNfError(`the DMA window must be a whole number of 4 KiB pages, got ${dmaBytes} bytes`);
    }
    const dmaBase = options.dmaBase ?? (dmaBytes > 0 ? STANDALONE_DMA_BASE : NO_WINDOW_PHYS_BASE);
    if (!Number.isInteger(dmaBase) || dmaBase <= 0 || dmaBase % 4096 !== 0 || dmaBase + Math.max(dmaBytes, 4096) > Number.MAX_SAFE_INTEGER) {
      throw new TinyNfError(`DMA base 0x${dmaBase.toString(16)} must be a non-zero multiple of 4096 below 2^53 minus the window`);
    }
    this.addresses = [];
    for (let i = 0; i < ports; i++) this.addresses.push(portAddress(i));
    this.files = createDeviceFiles({
      dir: options.dir,
      addresses: this.addresses,
      configBytes: C.CONFIG_BYTES,
      bar0Bytes: R.BAR0_BYTES,
      dmaBytes,
      dmaBase,
      vendor: C.PCI_VENDOR_ID,
      device: C.PCI_DEVICE_ID,
      classCode: 0x020000,
    });
    this.dir = this.files.dir;
    this.dmaBase = dmaBase;
    this.dmaBytes = dmaBytes;
    // Staging buffers are private to each NIC (not in the window: all of DIR/dma belongs to the driver).
    this.memory = new PhysicalMemory(this.files.dma ?? new SharedArrayBuffer(4096), dmaBase, 0);
    this.nics = [];
    this.configs = [];
    this.files.ports.forEach((p, i) => {
      const nic = new SimNic({
        address: p.address,
        lanId: i % 8,
        mac: parseMacOption(options.mac?.(i) ?? defaultMac(i)),
        memory: this.memory,
        strict: options.strict ?? false,
        bar0: p.bar0,
        config: p.config,
        bar0Phys: BAR0_BUS_BASE + i * 0x100000,
        sameIntervalStrict: options.inline ?? false,
        clock: options.clock ?? realTimeNs,
      });
      this.nics.push(nic);
      // after the NIC wrote the power-on config space
      this.configs.push(new ConfigSpaceWatcher(p.config));
      this.regs.push(new Uint32Array(p.bar0, 0, R.BAR0_WORDS));
      this.wires.push({ heldInput: null, input: null, outputs: [] });
    });
  }

  /** Create the files in `options.dir` and the NICs over them (power-on state). */
  static create(options: StandaloneDeviceOptions): StandaloneDevice {
    return new StandaloneDevice(options);
  }

  /** DIR/<address> of port i (config, resource0, ...). */
  portDir(i: number): string {
    return this.files.ports[this.checkPort(i)].dir;
  }

  // ------------------------------------------------------------------ polling

  /**
   * One poll of every port at `nowNs`: the Command register, `scanWords` watched BAR0 registers (all by default) and
   * the tails of enabled queues, then the DMA work that is due. Returns true if anything happened.
   */
  poll(nowNs: number, scanWords = -1): boolean {
    let busy = false;
    const nics = this.nics;
    for (let k = 0; k < nics.length; k++) {
      if (this.configs[k].pollCommand()) busy = true;
    }
    if (pollAll(nics, nowNs, scanWords)) busy = true;
    if (this.heldInputs !== 0) this.releaseInputs(nowNs);
    return busy;
  }

  /** Every config space word and statistics registers (the slow part of a full scan). */
  scanSlow(): boolean {
    let changed = false;
    for (const c of this.configs) if (c.pollAll()) changed = true;
    for (const nic of this.nics) nic.updateStatisticsRegisters();
    return changed;
  }

  /** Everything: the whole config space, every watched register, the data path, statistics registers. */
  step(nowNs: number): boolean {
    const changed = this.scanSlow();
    return this.poll(nowNs) || changed;
  }

  /** Register more memory the NICs may DMA to: physical [phys, phys + length) is buffer[byteOffset ...]. */
  addRegion(phys: number, buffer: SharedArrayBuffer, byteOffset: number, length: number): void {
    this.memory.addRegion(phys, buffer, byteOffset, length);
  }

  // ------------------------------------------------------------------ wires

  /**
   * Frames arriving on port i's wire. With `waitForReceive`, the input is held until the port receives (RXCTRL.RXEN
   * set and queue 0 enabled with descriptors given to the NIC) and the driver has stopped configuring (no register
   * write but tails for RELEASE_QUIET_NS, see releaseInputs), so a finite input is not dropped while a driver
   * initialises; otherwise it is attached at once (frames arriving before the driver is ready are missed, as on a
   * real link). The device closes it (closeWire) at close().
   */
  attachInput(i: number, input: WireInput, waitForReceive = false): void {
    const w = this.wires[this.checkPort(i)];
    if (w.heldInput !== null) this.heldInputs--;
    for (const old of [w.heldInput, w.input]) if (old !== null) closeWire(old);
    w.heldInput = null;
    w.input = null;
    if (waitForReceive) {
      w.heldInput = input;
      this.heldInputs++;
      return;
    }
    w.input = input;
    this.nics[i].attachInput(input);
  }

  /** Frames port i transmits also go to `output` (closed at close()). */
  attachOutput(i: number, output: WireOutput): void {
    this.wires[this.checkPort(i)].outputs.push(output);
    this.nics[i].attachOutput(output);
  }

  /** Whether port i's input is still held (waiting for the driver to enable receive). */
  inputHeld(i: number): boolean {
    return this.wires[this.checkPort(i)].heldInput !== null;
  }

  /** RXCTRL.RXEN (Section 8.2.3.8.10) and receive queue 0 enabled with at least one descriptor owned by the NIC. */
  receiving(i: number): boolean {
    const nic = this.nics[i];
    const rxctrl = Atomics.load(this.regs[i], R.RXCTRL >>> 2);
    const q = nic.rxQueues[0];
    return (rxctrl & R.RXCTRL_RXEN) !== 0 && q.enabled && q.tail !== q.head;
  }

  /**
   * A held input is released once its port receives AND the driver has finished configuring: no register write
   * other than a tail on any port for RELEASE_QUIET_NS. A driver initialises its ports one after another (TinyNF's C
   * driver enables port 0's receive ~130 ms before it starts polling, still configuring the other port meanwhile), so
   * "receive enabled" alone does not mean the driver polls yet; the end of its configuration writes is the best sign
   * a polling device has of it.
   */
  private releaseInputs(nowNs: number): void {
    for (const nic of this.nics) if (nowNs - nic.lastConfigWriteNs < RELEASE_QUIET_NS) return;
    for (let i = 0; i < this.wires.length; i++) {
      const w = this.wires[i];
      if (w.heldInput === null || !this.receiving(i)) continue;
      // The registers say "receiving"; make sure the NIC has noticed every write so far (a full scan) first.
      this.nics[i].poll(nowNs);
      w.input = w.heldInput;
      w.heldInput = null;
      this.heldInputs--;
      this.nics[i].attachInput(w.input);
    }
  }

  // ------------------------------------------------------------------ results

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

  /** Call `listener` for every violation from now on, as the NIC notices it. */
  onViolation(listener: (v: Violation) => void): void {
    for (const nic of this.nics) nic.checker.onViolation = listener;
  }

  /** A driver's read of a statistics register of the port at `address` (in this process): cleared by the read. */
  readStatistic32(address: PciAddress, offset: number): number {
    const nic = this.nics.find((n) => n.address === address);
    if (nic === undefined) throw new TinyNfError(`no simulated PCI device at ${address}`);
    return nic.readStatistic32(offset);
  }

  portSummary(i: number): StandalonePortSummary {
    const nic = this.nics[this.checkPort(i)];
    const s = nic.stats;
    return {
      address: nic.address,
      rxPackets: s.rxPackets,
      rxMissed: s.rxMissed,
      rxNoDescriptor: s.rxNoDescriptor,
      rxUndersize: s.rxUndersize,
      rxOversize: s.rxOversize,
      rxFiltered: s.rxFiltered,
      txPackets: s.txPackets,
      txNullDescriptors: s.txNullDescriptors,
      dmaErrors: s.dmaErrors,
      violations: nic.violations.length + nic.checker.dropped,
      warnings: nic.warnings.length,
      configWritesIgnored: this.configs[i].ignoredWrites,
    };
  }

  /** Close every wire (pcap files are flushed) and release the directory (DIR/pid). The files stay. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    const errors: string[] = [];
    for (const w of this.wires) {
      for (const wire of [w.heldInput, w.input, ...w.outputs]) {
        if (wire === null) continue;
        try {
          closeWire(wire);
        } catch (e) {
          errors.push((e as Error).message);
        }
      }
    }
    this.files.release();
    if (errors.length > 0) throw new TinyNfError(`closing wires: ${errors.join('; ')}`);
  }

  private checkPort(i: number): number {
    if (!Number.isInteger(i) || i < 0 || i >= this.nics.length) {
      throw new TinyNfError(`port ${i} does not exist (the device has ${this.nics.length})`);
    }
    return i;
  }
}

export interface StandalonePortSummary {
  address: string;
  rxPackets: number;
  rxMissed: number;
  rxNoDescriptor: number;
  rxUndersize: number;
  rxOversize: number;
  rxFiltered: number;
  txPackets: number;
  txNullDescriptors: number;
  dmaErrors: number;
  violations: number;
  warnings: number;
  configWritesIgnored: number;
}

export interface StandaloneSummary {
  dir: string;
  seconds: number;
  ports: StandalonePortSummary[];
  violations: number;
  warnings: number;
  /** Loop iterations (one poll of every port each) and the fraction that found nothing to do. */
  iterations: number;
  idleFraction: number;
}

// ---------------------------------------------------------------------- real time

export interface StandaloneRunOptions {
  /** Stop after this many seconds (default: run until stop()). */
  durationS?: number;
  /** Watched BAR0 registers compared per poll besides the tails of enabled queues (default 64). */
  scanWordsPerPoll?: number;
  /** Idle iterations in a row before the loop starts sleeping between iterations (default 2000). */
  idleSpins?: number;
  /** Sleep between idle iterations, in us (default 100). */
  idleSleepUs?: number;
  /** The loop yields to the event loop (signals, timers) this often, in ms (default 20). */
  sliceMs?: number;
}

/** Real-time polling of a StandaloneDevice, as hardware would run: until stop() (e.g. on SIGINT) or a duration. */
export class StandaloneRunner {
  private stopped = false;
  private readonly sleepCell = new Int32Array(new SharedArrayBuffer(4));
  readonly startNs: number;

  constructor(
    readonly device: StandaloneDevice,
    private readonly options: StandaloneRunOptions = {},
  ) {
    this.startNs = performance.now() * 1e6;
  }

  /** Ask the loop to finish (it does at its next slice boundary). */
  stop(): void {
    this.stopped = true;
  }

  async run(): Promise<StandaloneSummary> {
    const device = this.device;
    const scan = this.options.scanWordsPerPoll ?? 64;
    const idleSpins = this.options.idleSpins ?? 2000;
    const sleepMs = (this.options.idleSleepUs ?? 100) / 1000;
    const sliceMs = this.options.sliceMs ?? 20;
    const endMs = this.options.durationS === undefined ? Infinity : this.startNs / 1e6 + this.options.durationS * 1000;
    let iterations = 0;
    let idleIterations = 0;
    let idleRun = 0;
    device.step(this.startNs);
    while (!this.stopped) {
      let t = performance.now();
      const sliceEnd = t + sliceMs;
      while (t < sliceEnd) {
        // While idle (sleeping between polls anyway) every poll scans all registers, so a write is noticed within
        // about one sleep; while busy, `scan` registers per poll (and every tail of an enabled queue).
        const busy = device.poll(t * 1e6, idleRun > idleSpins ? -1 : scan);
        iterations++;
        if ((iterations & 1023) === 0) device.scanSlow();
        if (busy) {
          idleRun = 0;
        } else {
          idleIterations++;
          if (++idleRun > idleSpins && sleepMs > 0) Atomics.wait(this.sleepCell, 0, 0, sleepMs);
        }
        t = performance.now();
      }
      if (t >= endMs) break;
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    const endNs = performance.now() * 1e6;
    device.step(endNs);
    const ports = device.nics.map((_n, i) => device.portSummary(i));
    return {
      dir: device.dir,
      seconds: (endNs - this.startNs) / 1e9,
      ports,
      violations: ports.reduce((a, p) => a + p.violations, 0),
      warnings: ports.reduce((a, p) => a + p.warnings, 0),
      iterations,
      idleFraction: iterations === 0 ? 1 : idleIterations / iterations,
    };
  }
}

/** One line per violation: NIC, time since `originNs`, rule, where, section, detail. */
export function formatViolation(v: Violation, originNs: number, kind: 'violation' | 'warning' = 'violation'): string {
  return `${kind} ${v.nic} +${((v.timeNs - originNs) / 1e6).toFixed(3)} ms ${v.rule} at ${v.where} (Section ${v.section}): ${v.detail}`;
}

// ---------------------------------------------------------------------- inline

/**
 * An Environment that forwards every call to `inner` (e.g. a LinuxEnvironment whose sysfs root holds the device's
 * files) and lets a device living in the same thread keep up with the driver:
 *   - sleepUs steps the device (at inner.nowNs()) before and after the real sleep: a write just before the sleep
 *     is seen at once, as by hardware, and what the device does during the sleep is there when the driver wakes;
 *   - allocateDma registers each allocation with the device (addRegion at its physical address), so descriptors
 *     and buffers in real huge pages resolve.
 * PCI config and BAR0 access, DMA allocation and address translation are inner's own code, unchanged. Programs
 * step the device themselves between polls of their forwarders (device.poll / step).
 */
export class InlineDeviceEnvironment implements Environment {
  readonly name: string;
  /** Device steps taken around sleeps. */
  sleepSteps = 0;

  constructor(
    readonly inner: Environment,
    readonly device: Pick<StandaloneDevice, 'step' | 'addRegion' | 'readStatistic32'>,
  ) {
    this.name = inner.name;
  }

  allocateDma(bytes: number): DmaMemory {
    const memory = this.inner.allocateDma(bytes);
    this.device.addRegion(memory.phys, memory.buffer, memory.byteOffset, memory.byteLength);
    return memory;
  }

  virtToPhys(buffer: SharedArrayBuffer, offset: number): number {
    return this.inner.virtToPhys(buffer, offset);
  }

  pciRead32(address: PciAddress, offset: number): number {
    return this.inner.pciRead32(address, offset);
  }

  pciWrite32(address: PciAddress, offset: number, value: number): void {
    this.inner.pciWrite32(address, offset, value);
  }

  mapBar0(address: PciAddress): SharedArrayBuffer {
    return this.inner.mapBar0(address);
  }

  /** The device is in this process: a statistics read goes to it, which clears read-to-clear counters (Section 8.2.3.23). */
  readStatistic32(address: PciAddress, _bar0: DeviceMemory, offset: number): number {
    return this.device.readStatistic32(address, offset);
  }

  sleepUs(us: number): void {
    this.device.step(this.inner.nowNs());
    this.inner.sleepUs(us);
    this.device.step(this.inner.nowNs());
    this.sleepSteps += 2;
  }

  nowNs(): number {
    return this.inner.nowNs();
  }
}
