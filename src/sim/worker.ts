// Worker mode: the in-memory 82599s run in a worker thread (sim-worker.ts), or in several (`threads`: port i in
// thread i mod threads, as the NICs of a real machine work concurrently), polling the SAME register files (BAR0
// SharedArrayBuffers) and DMA memory the driver uses on the main thread, in real time, as hardware would on the
// other side of the bus. This main-thread object is the SimulatedPlatform the driver's environment sits on:
// - DMA memory comes from one preallocated window SharedArrayBuffer (a bump allocator here; the worker only
//   translates addresses), so allocateDma is synchronous and needs no message;
// - PCI config space is a SharedArrayBuffer per port, read and written here directly;
// - advanceUs is a real sleep (Atomics.wait), nowNs real monotonic time measured from this thread's
//   performance.timeOrigin, which the worker shares;
// - wires are described by plain objects (src/sim/wires/describe.ts) the worker turns into wires;
// - counters are read from a statistics SharedArrayBuffer the workers publish into (no round trip);
// - each simulator thread is driven through its SimThreadHandle (worker-thread.ts), which this object routes to.
//
//   const sim = SimWorker.start({ ports: 2 });     // returns once the worker's NICs exist
//   const env = new SimulatedEnvironment(sim);     // Device.init(env, sim.addresses[0]) ...
//   sim.sync();                                    // barrier: the NICs have seen every register write so far
//   sim.setInput(0, { kind: 'generator', rate: 'line-rate' }); sim.addOutput(1, { kind: 'count' });
//   sim.pushFrames(0, frames); sim.takeCollected(1);   // tests: a queue input, `collect` outputs read live
//   ... sim.stats(1).txPackets, sim.idleTimeFraction(), sim.violationCount() ...
//   const { violations, warnings, collected } = await sim.stop();
// docs/simulator.md describes the modes and what the NIC models.
import { DmaMemory, PciAddress, TinyNfError } from '../env/environment';
import type { SimulatedPlatform } from '../env/simulated';
import type { Violation } from './checker';
import { defaultMac, parseMacOption, portAddress } from './machine';
import { DEFAULT_DMA_BYTES, DEFAULT_PHYS_BASE, PhysicalMemory, alignUp } from './memory';
import { STAGING_BYTES, TxPacing } from './nic';
import * as C from './pci-config';
import * as R from './registers';
import { engineWindow } from './wasm/layout';
import {
  CONTROL_WORDS,
  GLOBAL_BUSY_NS,
  GLOBAL_IDLE_ITERATIONS,
  GLOBAL_PUBLISHED_NS,
  GLOBAL_ITERATIONS,
  GLOBAL_STATS,
  PortSetup,
  STATS_PER_PORT,
  STAT_NAMES,
  SimInputDescription,
  SimOutputDescription,
  StatName,
  ToWorker,
  WorkerResults,
  globalStatsAt,
  statsBytes,
} from './worker-protocol';
import { SimThreadHandle } from './worker-thread';

export type { SimInputDescription, SimOutputDescription, WorkerResults } from './worker-protocol';

export interface SimWorkerOptions {
  /** Number of ports (default 2, at most 64). */
  ports?: number;
  /**
   * Simulator threads (default 1, at most `ports`): port i is served by thread i mod threads. Each thread spins on
   * a core of its own while it has work, so more threads help only where the machine has a core for each of them
   * besides the driver's.
   */
  threads?: number;
  /** Bytes of simulated DMA memory (default 64 MiB). */
  dmaBytes?: number;
  /** Physical address of the DMA window (default 0x2_0000_0000). */
  physBase?: number;
  /** MAC address of port i (default 02:00:00:5e:00:<i+1>). */
  mac?: (i: number) => Uint8Array | string;
  /** Consecutive idle loop iterations before a worker starts sleeping between iterations (default 20000). */
  idleSpins?: number;
  /** Sleep between idle iterations once idleSpins is reached, in us (default 20; 0 = spin forever). */
  idleSleepUs?: number;
  /** Watched registers a worker compares per poll, besides the tails of enabled queues (default 16). */
  scanWordsPerPoll?: number;
  /** How long start() waits for the workers to come up (default 10 s). */
  startTimeoutMs?: number;
}

/** Port counters as SimWorker.stats returns them (STAT_NAMES). */
export type SimWorkerStats = Record<StatName, number>;

export class SimWorker implements SimulatedPlatform {
  readonly addresses: PciAddress[];
  readonly memory: PhysicalMemory;
  /** Simulator threads; port i is served by threads[threadIndex(i)], as its port localPort(i). */
  private readonly threads: SimThreadHandle[] = [];
  private readonly statsArray: Float64Array;
  private readonly bar0s: SharedArrayBuffer[];
  private readonly configs: Uint32Array[];
  private readonly byAddress = new Map<PciAddress, number>();
  private readonly baseline: Float64Array;
  /** The threads' global slots as of resetCounters() (GLOBAL_STATS per thread). */
  private readonly globalBaseline: Float64Array;
  /** What advanceUs sleeps on (Atomics.wait, never notified). */
  private readonly sleepWord = new Int32Array(new SharedArrayBuffer(4));
  private stopped: WorkerResults | null = null;

  private constructor(options: SimWorkerOptions) {
    const ports = options.ports ?? 2;
    if (!Number.isInteger(ports) || ports < 1 || ports > 64) throw new TinyNfError(`a simulated machine has 1 to 64 ports, got ${ports}`);
    const threads = options.threads ?? 1;
    if (!Number.isInteger(threads) || threads < 1 || threads > ports) {
      throw new TinyNfError(`a simulated machine of ${ports} port(s) has 1 to ${ports} simulator thread(s), got ${threads}`);
    }
    const dmaBytes = options.dmaBytes ?? DEFAULT_DMA_BYTES;
    const reserved = alignUp(ports * 2 * STAGING_BYTES, 4096);
    if (!Number.isInteger(dmaBytes) || dmaBytes < reserved + 4096) throw new TinyNfError(`dmaBytes must be at least ${reserved + 4096}`);
    const idleSpins = options.idleSpins ?? 20_000;
    const idleSleepUs = options.idleSleepUs ?? 20;
    const scanWordsPerPoll = options.scanWordsPerPoll ?? 16;
    if (!(idleSpins >= 0) || !(idleSleepUs >= 0) || !Number.isInteger(scanWordsPerPoll) || scanWordsPerPoll < 1) {
      throw new TinyNfError('idleSpins and idleSleepUs must be >= 0, scanWordsPerPoll a positive integer');
    }
    // Plain SharedArrayBuffers (not the native addon's): they cross to the worker and pass instanceof checks.
    // A shared WebAssembly.Memory's buffer (plain SharedArrayBuffer to everything else): the worker's receive
    // engines (nic-rx-engine.ts) work on it; their areas follow what allocateDma hands out
    const allocationEnd = alignUp(dmaBytes, 4096) + reserved;
    const wasmMemory = engineWindow(allocationEnd, ports);
    const window = wasmMemory.buffer;
    const windowPhys = options.physBase ?? DEFAULT_PHYS_BASE;
    this.memory = new PhysicalMemory(window, windowPhys, reserved, allocationEnd);
    const stats = new SharedArrayBuffer(statsBytes(ports, threads));
    this.statsArray = new Float64Array(stats);
    this.baseline = new Float64Array(ports * STATS_PER_PORT);
    this.globalBaseline = new Float64Array(threads * GLOBAL_STATS);
    this.addresses = [];
    this.bar0s = [];
    this.configs = [];
    const portSetups: PortSetup[][] = Array.from({ length: threads }, () => []);
    for (let i = 0; i < ports; i++) {
      const address = portAddress(i);
      const bar0 = new SharedArrayBuffer(R.BAR0_BYTES);
      const config = new SharedArrayBuffer(C.CONFIG_BYTES);
      this.addresses.push(address);
      this.bar0s.push(bar0);
      this.configs.push(new Uint32Array(config));
      this.byAddress.set(address, i);
      portSetups[i % threads].push({
        index: i,
        address,
        lanId: i % 8,
        mac: Array.from(parseMacOption(options.mac?.(i) ?? defaultMac(i))),
        bar0,
        config,
        bar0Phys: 0xf000_0000 + i * 0x100000,
        input: null,
        outputs: [],
        pacing: 'unlimited',
      });
    }
    try {
      for (let t = 0; t < threads; t++) {
        this.threads.push(
          new SimThreadHandle({
            window,
            memory: wasmMemory,
            windowPhys,
            reserved,
            allocationEnd,
            stagingBytes: STAGING_BYTES,
            ports: portSetups[t],
            control: new SharedArrayBuffer(CONTROL_WORDS * 4),
            stats,
            machinePorts: ports,
            thread: t,
            timeOriginMs: performance.timeOrigin,
            scanWordsPerPoll,
            idleSpins,
            idleSleepUs,
          }),
        );
      }
      for (const t of this.threads) t.waitReady(options.startTimeoutMs ?? 10_000);
    } catch (e) {
      for (const t of this.threads) t.terminate();
      throw e;
    }
  }

  /** Start the workers and return once their NICs exist (their register files hold power-on values). */
  static start(options: SimWorkerOptions = {}): SimWorker {
    return new SimWorker(options);
  }

  /** Simulator threads serving the ports. */
  get threadCount(): number {
    return this.threads.length;
  }

  // ------------------------------------------------------------------ wires and pacing

  /** Frames arriving at `port` from the wire (replaces the previous input). Attach generators after Device.init. */
  setInput(port: number, desc: SimInputDescription): void {
    this.toPort(port, (local) => ({ type: 'input', port: local, input: desc }));
  }

  /** Frames `port` transmits also go to this output. */
  addOutput(port: number, desc: SimOutputDescription): void {
    this.toPort(port, (local) => ({ type: 'output', port: local, output: desc }));
  }

  /**
   * Append frames (without FCS, all due at once) to `port`'s queue input; the NIC's receive side spaces them as a
   * 10 Gb/s wire would. A port whose input is not a queue (none, a generator...) gets a new queue input first.
   */
  pushFrames(port: number, frames: readonly Uint8Array[]): void {
    this.checkPort(port);
    if (frames.length === 0) return;
    this.toPort(port, (local) => ({ type: 'push', port: local, frames: frames.slice() }));
  }

  /** The frames `port`'s `collect` outputs gathered since the last call, in order (the worker forgets them). */
  takeCollected(port: number): Uint8Array[] {
    return this.toPort(port, (local) => ({ type: 'take', port: local })) ?? [];
  }

  /**
   * A barrier: returns once the NICs have noticed every register write made before the call (each worker does one
   * full poll of its NICs; in between they scan registers a window at a time, see scanWordsPerPoll) and published
   * their counters, so stats() and violationCount() are exact as of now. E.g. after the driver enabled a queue and
   * before traffic that must not be missed starts.
   */
  sync(): void {
    if (this.stopped !== null) return;
    for (const t of this.threads) t.request({ type: 'sync' });
  }

  setTxPacing(port: number, pacing: TxPacing): void {
    this.checkPort(port);
    if (!(pacing === 'line-rate' || pacing === 'unlimited' || (typeof pacing === 'number' && pacing > 0 && Number.isFinite(pacing)))) {
      throw new TinyNfError(`transmit pacing must be a positive number of Mpps, 'line-rate' or 'unlimited', got ${String(pacing)}`);
    }
    this.toPort(port, (local) => ({ type: 'pacing', port: local, pacing }));
  }

  /** Register more memory the NICs may DMA to (e.g. hugepages with their physical addresses). */
  addRegion(phys: number, buffer: SharedArrayBuffer, byteOffset: number, length: number): void {
    this.memory.addRegion(phys, buffer, byteOffset, length);
    for (const t of this.threads) t.request({ type: 'region', phys, buffer, byteOffset, length });
  }

  // ------------------------------------------------------------------ counters (no round trip)

  /** Port counters as last published by its worker (at most a few microseconds old), since start or resetCounters(). */
  stats(port: number): SimWorkerStats {
    this.checkPort(port);
    const out = {} as SimWorkerStats;
    const base = port * STATS_PER_PORT;
    for (let k = 0; k < STATS_PER_PORT; k++) {
      const name = STAT_NAMES[k];
      const v = this.statsArray[base + k];
      out[name] = name === 'violations' || name === 'warnings' ? v : v - this.baseline[base + k];
    }
    return out;
  }

  /**
   * Fraction of the workers' loop iterations in which none of a worker's NICs had anything to do, since start or
   * resetCounters() (over every thread's iterations).
   */
  idleFraction(): number {
    const iterations = this.globalSum(GLOBAL_ITERATIONS);
    return iterations > 0 ? this.globalSum(GLOBAL_IDLE_ITERATIONS) / iterations : 0;
  }

  /**
   * Fraction of the workers' time spent in iterations in which none of a worker's NICs had anything to do, since
   * start or resetCounters() (1 - busy time / elapsed time, over every thread, as of its last publication).
   */
  idleTimeFraction(): number {
    const elapsed = this.globalSum(GLOBAL_PUBLISHED_NS);
    const busy = this.globalSum(GLOBAL_BUSY_NS);
    return elapsed > 0 ? Math.min(1, Math.max(0, 1 - busy / elapsed)) : 0;
  }

  /** Worker loop iterations since start or resetCounters() (every thread's). */
  iterations(): number {
    return this.globalSum(GLOBAL_ITERATIONS);
  }

  /** Start counting (stats, idle fraction) from now; violation counts are never reset. */
  resetCounters(): void {
    this.baseline.set(this.statsArray.subarray(0, this.baseline.length));
    const g = globalStatsAt(this.addresses.length, 0);
    this.globalBaseline.set(this.statsArray.subarray(g, g + this.globalBaseline.length));
  }

  /** Data-sheet violations the NICs have reported so far (live). */
  violationCount(): number {
    let n = 0;
    const slot = STAT_NAMES.indexOf('violations');
    for (let i = 0; i < this.addresses.length; i++) n += this.statsArray[i * STATS_PER_PORT + slot];
    return n;
  }

  // ------------------------------------------------------------------ stop

  /**
   * Stop the workers: they close their wires (pcap files are flushed) and hand back every violation, warning and
   * collected frame. Synchronous; the worker threads then exit on their own (stop() also waits for that).
   */
  stopSync(): WorkerResults {
    if (this.stopped !== null) return this.stopped;
    const results: WorkerResults[] = [];
    try {
      for (const t of this.threads) results.push(t.stopSync());
    } catch (e) {
      for (const t of this.threads) t.terminate();
      throw e;
    }
    const collected: Uint8Array[][] = this.addresses.map((_, i) => results[this.threadIndex(i)].collected[this.localPort(i)] ?? []);
    this.stopped = {
      violations: results.flatMap((r) => r.violations),
      warnings: results.flatMap((r) => r.warnings),
      collected,
    };
    return this.stopped;
  }

  /** stopSync(), then wait until the worker threads have exited. */
  async stop(): Promise<WorkerResults> {
    for (const t of this.threads) t.ref();
    try {
      return this.stopSync();
    } finally {
      await Promise.all(this.threads.map((t) => t.exit()));
    }
  }

  /** Whether every worker thread has exited (after stop()). */
  get exited(): boolean {
    return this.threads.every((t) => t.exited);
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
    return C.configRead32(this.configs[this.index(address)], offset);
  }

  configWrite32(address: PciAddress, offset: number, value: number): void {
    C.configWrite32(this.configs[this.index(address)], offset, value);
  }

  bar0(address: PciAddress): SharedArrayBuffer {
    return this.bar0s[this.index(address)];
  }

  /**
   * A driver's read of a statistics register of BAR0 (Environment.readStatistic32): read in the simulator thread
   * of the port, which clears a read-to-clear counter as the 82599 does (Section 8.2.3.23). Synchronous: a word
   * protocol on that thread's control buffer (worker-protocol.ts, CTRL_STAT_REQUEST), answered within one loop
   * iteration of the worker.
   */
  readStatistic32(address: PciAddress, offset: number): number {
    const port = this.index(address);
    if (!Number.isInteger(offset) || offset < 0 || offset >= R.BAR0_BYTES || offset % 4 !== 0) {
      throw new TinyNfError(`statistics register offset ${offset} invalid: must be a multiple of 4 below ${R.BAR0_BYTES}`);
    }
    if (this.stopped !== null || this.exited) throw new TinyNfError('the simulator worker is stopped');
    return this.threads[this.threadIndex(port)].readStatistic32(this.localPort(port), offset);
  }

  /** Sleep `us` microseconds of real time (the NICs keep running in the workers). */
  advanceUs(us: number): void {
    if (!(us >= 0) || !Number.isFinite(us)) throw new TinyNfError(`cannot sleep ${us} us`);
    const end = performance.now() + us / 1000;
    // Atomics.wait sleeps with ~50 us of slack; the rest is spun so short sleeps are not much too long.
    if (us > 100) Atomics.wait(this.sleepWord, 0, 0, (us - 60) / 1000);
    while (performance.now() < end) {
      /* spin */
    }
  }

  /** Real monotonic time in ns since this thread's performance.timeOrigin (the workers use the same origin). */
  nowNs(): number {
    return performance.now() * 1e6;
  }

  // ------------------------------------------------------------------ internals

  /** Send the request `make(port's number in its thread)` to the thread serving `port`; returns the reply's frames. */
  private toPort(port: number, make: (local: number) => ToWorker): Uint8Array[] | undefined {
    this.checkPort(port);
    return this.threads[this.threadIndex(port)].request(make(this.localPort(port)));
  }

  /** The thread that serves machine port `port`. */
  private threadIndex(port: number): number {
    return port % this.threads.length;
  }

  /** Machine port `port`'s number among its thread's ports (what that thread's messages and words name it by). */
  private localPort(port: number): number {
    return Math.floor(port / this.threads.length);
  }

  /** Global slot `slot` summed over the threads, since resetCounters(). */
  private globalSum(slot: number): number {
    let sum = 0;
    const g = globalStatsAt(this.addresses.length, 0);
    for (let t = 0; t < this.threads.length; t++) {
      const at = t * GLOBAL_STATS + slot;
      sum += this.statsArray[g + at] - this.globalBaseline[at];
    }
    return sum;
  }

  private index(address: PciAddress): number {
    const i = this.byAddress.get(address);
    if (i === undefined) throw new TinyNfError(`no simulated PCI device at ${address}`);
    return i;
  }

  private checkPort(port: number): void {
    if (!Number.isInteger(port) || port < 0 || port >= this.addresses.length) {
      throw new TinyNfError(`port ${port} does not exist (the machine has ${this.addresses.length})`);
    }
    if (this.stopped !== null) throw new TinyNfError('the simulator worker is stopped');
  }
}

export type { Violation };
