// Worker mode: the in-memory 82599s run in a worker thread (sim-worker.ts), polling the SAME register files (BAR0
// SharedArrayBuffers) and DMA memory the driver uses on the main thread, in real time, as hardware would on the
// other side of the bus. This main-thread object is the SimulatedPlatform the driver's environment sits on:
// - DMA memory comes from one preallocated window SharedArrayBuffer (a bump allocator here; the worker only
//   translates addresses), so allocateDma is synchronous and needs no message;
// - PCI config space is a SharedArrayBuffer per port, read and written here directly;
// - advanceUs is a real sleep (Atomics.wait), nowNs real monotonic time measured from this thread's
//   performance.timeOrigin, which the worker shares;
// - wires are described by plain objects (src/sim/wires/describe.ts) the worker turns into wires;
// - counters are read from a statistics SharedArrayBuffer the worker publishes into (no round trip).
//
//   const sim = SimWorker.start({ ports: 2 });     // returns once the worker's NICs exist
//   const env = new SimulatedEnvironment(sim);     // Device.init(env, sim.addresses[0]) ...
//   sim.sync();                                    // barrier: the NICs have seen every register write so far
//   sim.setInput(0, { kind: 'generator', rate: 'line-rate' }); sim.addOutput(1, { kind: 'count' });
//   sim.pushFrames(0, frames); sim.takeCollected(1);   // tests: a queue input, `collect` outputs read live
//   ... sim.stats(1).txPackets, sim.idleTimeFraction(), sim.violationCount() ...
//   const { violations, warnings, collected } = await sim.stop();
// docs/simulator.md describes the modes and what the NIC models.
import * as fs from 'fs';
import * as path from 'path';
import { MessageChannel, MessagePort, Worker, receiveMessageOnPort } from 'worker_threads';
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
  CTRL_ACK,
  CTRL_DONE,
  CTRL_ERROR,
  CTRL_READY,
  CTRL_SLEEP,
  CTRL_STAT_DONE,
  CTRL_STAT_OFFSET,
  CTRL_STAT_PORT,
  CTRL_STAT_REQUEST,
  CTRL_STAT_VALUE,
  CTRL_STOP,
  FromWorker,
  GLOBAL_BUSY_NS,
  GLOBAL_IDLE_ITERATIONS,
  GLOBAL_PUBLISHED_NS,
  GLOBAL_ITERATIONS,
  STATS_PER_PORT,
  STAT_NAMES,
  SimInputDescription,
  SimOutputDescription,
  StatName,
  ToWorker,
  WorkerResults,
  WorkerSetup,
  statsBytes,
} from './worker-protocol';

export type { SimInputDescription, SimOutputDescription, WorkerResults } from './worker-protocol';

export interface SimWorkerOptions {
  /** Number of ports (default 2, at most 64). */
  ports?: number;
  /** Bytes of simulated DMA memory (default 64 MiB). */
  dmaBytes?: number;
  /** Physical address of the DMA window (default 0x2_0000_0000). */
  physBase?: number;
  /** MAC address of port i (default 02:00:00:5e:00:<i+1>). */
  mac?: (i: number) => Uint8Array | string;
  /** Consecutive idle loop iterations before the worker starts sleeping between iterations (default 20000). */
  idleSpins?: number;
  /** Sleep between idle iterations once idleSpins is reached, in us (default 20; 0 = spin forever). */
  idleSleepUs?: number;
  /** Watched registers the worker compares per poll, besides the tails of enabled queues (default 16). */
  scanWordsPerPoll?: number;
  /** How long start() waits for the worker to come up (default 10 s). */
  startTimeoutMs?: number;
}

/** Counters of one port (SimNic.stats plus the worker's poll counts and the checker's). */
export type SimWorkerStats = Record<StatName, number>;

/** Longest a synchronous request waits for the worker's answer. */
const REQUEST_TIMEOUT_MS = 10_000;

export class SimWorker implements SimulatedPlatform {
  readonly addresses: PciAddress[];
  readonly memory: PhysicalMemory;
  private readonly worker: Worker;
  private readonly port: MessagePort;
  private readonly control: Int32Array;
  private readonly statsArray: Float64Array;
  private readonly bar0s: SharedArrayBuffer[];
  private readonly configs: Uint32Array[];
  private readonly byAddress = new Map<PciAddress, number>();
  private readonly baseline: Float64Array;
  private baseIterations = 0;
  private baseIdleIterations = 0;
  private baseBusyNs = 0;
  private basePublishedNs = 0;
  private stopped: WorkerResults | null = null;
  private readonly exitPromise: Promise<void>;
  private workerError: string | null = null;
  private hasExited = false;

  private constructor(options: SimWorkerOptions) {
    const ports = options.ports ?? 2;
    if (!Number.isInteger(ports) || ports < 1 || ports > 64) throw new TinyNfError(`a simulated machine has 1 to 64 ports, got ${ports}`);
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
    const control = new SharedArrayBuffer(CONTROL_WORDS * 4);
    const stats = new SharedArrayBuffer(statsBytes(ports));
    this.control = new Int32Array(control);
    this.statsArray = new Float64Array(stats);
    this.baseline = new Float64Array(ports * STATS_PER_PORT);
    this.addresses = [];
    this.bar0s = [];
    this.configs = [];
    const portSetups: WorkerSetup['ports'] = [];
    for (let i = 0; i < ports; i++) {
      const address = portAddress(i);
      const bar0 = new SharedArrayBuffer(R.BAR0_BYTES);
      const config = new SharedArrayBuffer(C.CONFIG_BYTES);
      this.addresses.push(address);
      this.bar0s.push(bar0);
      this.configs.push(new Uint32Array(config));
      this.byAddress.set(address, i);
      portSetups.push({
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
    const setup: WorkerSetup = {
      window,
      memory: wasmMemory,
      windowPhys,
      reserved,
      allocationEnd,
      stagingBytes: STAGING_BYTES,
      ports: portSetups,
      control,
      stats,
      timeOriginMs: performance.timeOrigin,
      scanWordsPerPoll,
      idleSpins,
      idleSleepUs,
    };
    const script = path.join(__dirname, 'sim-worker.js');
    if (!fs.existsSync(script)) throw new TinyNfError(`${script} is missing: the simulator worker runs compiled JavaScript (npm run build)`);
    const channel = new MessageChannel();
    this.port = channel.port1;
    this.worker = new Worker(script, {
      workerData: { setup, port: channel.port2 },
      transferList: [channel.port2],
    });
    this.exitPromise = new Promise<void>((resolve) => {
      this.worker.once('exit', () => {
        this.hasExited = true;
        resolve();
      });
    });
    this.worker.on('error', (e: Error) => {
      this.workerError = e.message;
    });
    // A forgotten stop() must not keep the process alive (the worker spins); stop() takes a reference again.
    this.worker.unref();
    this.port.unref();
    this.waitFor(CTRL_READY, 0, options.startTimeoutMs ?? 10_000, 'start');
  }

  /** Start the worker and return once its NICs exist (their register files hold power-on values). */
  static start(options: SimWorkerOptions = {}): SimWorker {
    return new SimWorker(options);
  }

  // ------------------------------------------------------------------ wires and pacing

  /** Frames arriving at `port` from the wire (replaces the previous input). Attach generators after Device.init. */
  setInput(port: number, desc: SimInputDescription): void {
    this.checkPort(port);
    this.request({ type: 'input', port, input: desc });
  }

  /** Frames `port` transmits also go to this output. */
  addOutput(port: number, desc: SimOutputDescription): void {
    this.checkPort(port);
    this.request({ type: 'output', port, output: desc });
  }

  /**
   * Append frames (without FCS, all due at once) to `port`'s queue input; the NIC's receive side spaces them as a
   * 10 Gb/s wire would. A port whose input is not a queue (none, a generator...) gets a new queue input first.
   */
  pushFrames(port: number, frames: readonly Uint8Array[]): void {
    this.checkPort(port);
    if (frames.length === 0) return;
    this.request({ type: 'push', port, frames: frames.slice() });
  }

  /** The frames `port`'s `collect` outputs gathered since the last call, in order (the worker forgets them). */
  takeCollected(port: number): Uint8Array[] {
    this.checkPort(port);
    return this.request({ type: 'take', port }) ?? [];
  }

  /**
   * A barrier: returns once the NICs have noticed every register write made before the call (the worker does one full
   * poll of every NIC; in between it scans registers a window at a time, see scanWordsPerPoll) and published their
   * counters, so stats() and violationCount() are exact as of now. E.g. after the driver enabled a queue and before
   * traffic that must not be missed starts.
   */
  sync(): void {
    if (this.stopped !== null) return;
    this.request({ type: 'sync' });
  }

  setTxPacing(port: number, pacing: TxPacing): void {
    this.checkPort(port);
    if (!(pacing === 'line-rate' || pacing === 'unlimited' || (typeof pacing === 'number' && pacing > 0 && Number.isFinite(pacing)))) {
      throw new TinyNfError(`transmit pacing must be a positive number of Mpps, 'line-rate' or 'unlimited', got ${String(pacing)}`);
    }
    this.request({ type: 'pacing', port, pacing });
  }

  /** Register more memory the NICs may DMA to (e.g. hugepages with their physical addresses). */
  addRegion(phys: number, buffer: SharedArrayBuffer, byteOffset: number, length: number): void {
    this.memory.addRegion(phys, buffer, byteOffset, length);
    this.request({ type: 'region', phys, buffer, byteOffset, length });
  }

  // ------------------------------------------------------------------ counters (no round trip)

  /** Port counters as last published by the worker (at most a few microseconds old), since start or resetCounters(). */
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

  /** Fraction of the worker's loop iterations in which no NIC had anything to do, since start or resetCounters(). */
  idleFraction(): number {
    const g = this.addresses.length * STATS_PER_PORT;
    const iterations = this.statsArray[g + GLOBAL_ITERATIONS] - this.baseIterations;
    const idle = this.statsArray[g + GLOBAL_IDLE_ITERATIONS] - this.baseIdleIterations;
    return iterations > 0 ? idle / iterations : 0;
  }

  /**
   * Fraction of the worker's time spent in iterations in which no NIC had anything to do, since start or
   * resetCounters() (1 - busy time / elapsed time, as of the worker's last publication).
   */
  idleTimeFraction(): number {
    const g = this.addresses.length * STATS_PER_PORT;
    const elapsed = this.statsArray[g + GLOBAL_PUBLISHED_NS] - this.basePublishedNs;
    const busy = this.statsArray[g + GLOBAL_BUSY_NS] - this.baseBusyNs;
    return elapsed > 0 ? Math.min(1, Math.max(0, 1 - busy / elapsed)) : 0;
  }

  /** Worker loop iterations since start or resetCounters(). */
  iterations(): number {
    return this.statsArray[this.addresses.length * STATS_PER_PORT + GLOBAL_ITERATIONS] - this.baseIterations;
  }

  /** Start counting (stats, idle fraction) from now; violation counts are never reset. */
  resetCounters(): void {
    this.baseline.set(this.statsArray.subarray(0, this.baseline.length));
    const g = this.addresses.length * STATS_PER_PORT;
    this.baseIterations = this.statsArray[g + GLOBAL_ITERATIONS];
    this.baseIdleIterations = this.statsArray[g + GLOBAL_IDLE_ITERATIONS];
    this.baseBusyNs = this.statsArray[g + GLOBAL_BUSY_NS];
    this.basePublishedNs = this.statsArray[g + GLOBAL_PUBLISHED_NS];
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
   * Stop the worker: it closes its wires (pcap files are flushed) and hands back every violation, warning and
   * collected frame. Synchronous; the worker thread then exits on its own (stop() also waits for that).
   */
  stopSync(): WorkerResults {
    if (this.stopped !== null) return this.stopped;
    if (Atomics.load(this.control, CTRL_ERROR) === 0 && this.workerError === null) {
      Atomics.store(this.control, CTRL_STOP, 1);
      Atomics.notify(this.control, CTRL_SLEEP);
      this.waitFor(CTRL_DONE, 0, REQUEST_TIMEOUT_MS, 'stop');
    }
    const msg = this.receive();
    this.port.close();
    if (msg === undefined || msg.type !== 'done') {
      void this.worker.terminate();
      throw new TinyNfError(`simulator worker failed: ${msg?.type === 'error' ? msg.message : (this.workerError ?? 'no results')}`);
    }
    this.stopped = { violations: msg.violations, warnings: msg.warnings, collected: msg.collected };
    return this.stopped;
  }

  /** stopSync(), then wait until the worker thread has exited. */
  async stop(): Promise<WorkerResults> {
    this.worker.ref();
    try {
      return this.stopSync();
    } finally {
      const timer = setTimeout(() => void this.worker.terminate(), 5000);
      await this.exitPromise;
      clearTimeout(timer);
    }
  }

  /** Whether the worker thread has exited (after stop()). */
  get exited(): boolean {
    return this.hasExited;
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
   * A driver's read of a statistics register of BAR0 (Environment.readStatistic32): read in the simulator thread,
   * which clears a read-to-clear counter as the 82599 does (Section 8.2.3.23). Synchronous: a word protocol on the
   * control buffer (worker-protocol.ts, CTRL_STAT_REQUEST), answered within one loop iteration of the worker.
   */
  readStatistic32(address: PciAddress, offset: number): number {
    const port = this.index(address);
    if (!Number.isInteger(offset) || offset < 0 || offset >= R.BAR0_BYTES || offset % 4 !== 0) {
      throw new TinyNfError(`statistics register offset ${offset} invalid: must be a multiple of 4 below ${R.BAR0_BYTES}`);
    }
    if (this.stopped !== null || this.hasExited) throw new TinyNfError('the simulator worker is stopped');
    const c = this.control;
    c[CTRL_STAT_PORT] = port;
    c[CTRL_STAT_OFFSET] = offset;
    const request = (Atomics.add(c, CTRL_STAT_REQUEST, 1) + 1) | 0;
    Atomics.notify(c, CTRL_SLEEP);
    const deadline = performance.now() + REQUEST_TIMEOUT_MS;
    for (;;) {
      const done = Atomics.load(c, CTRL_STAT_DONE);
      if (done === request) return c[CTRL_STAT_VALUE] >>> 0;
      this.waitFor(CTRL_STAT_DONE, done, Math.max(1, deadline - performance.now()), 'readStatistic32');
    }
  }

  /** Sleep `us` microseconds of real time (the NICs keep running in the worker). */
  advanceUs(us: number): void {
    if (!(us >= 0) || !Number.isFinite(us)) throw new TinyNfError(`cannot sleep ${us} us`);
    const end = performance.now() + us / 1000;
    // Atomics.wait sleeps with ~50 us of slack; the rest is spun so short sleeps are not much too long.
    if (us > 100) Atomics.wait(this.control, CTRL_SLEEP, 0, (us - 60) / 1000);
    while (performance.now() < end) {
      /* spin */
    }
  }

  /** Real monotonic time in ns since this thread's performance.timeOrigin (the worker uses the same origin). */
  nowNs(): number {
    return performance.now() * 1e6;
  }

  // ------------------------------------------------------------------ internals

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

  /** Post a request and wait for the worker's reply (returns its frames, if any); its error becomes a TinyNfError here. */
  private request(msg: ToWorker): Uint8Array[] | undefined {
    const ack = Atomics.load(this.control, CTRL_ACK);
    this.port.postMessage(msg);
    Atomics.notify(this.control, CTRL_SLEEP);
    this.waitFor(CTRL_ACK, ack, REQUEST_TIMEOUT_MS, msg.type);
    const reply = this.receive();
    if (reply === undefined) throw new TinyNfError(`simulator worker: no reply to '${msg.type}'`);
    if (reply.type === 'error') throw new TinyNfError(`simulator worker failed: ${reply.message}`);
    if (reply.type !== 'reply') throw new TinyNfError(`simulator worker: unexpected '${reply.type}' message in reply to '${msg.type}'`);
    if (reply.error !== null) throw new TinyNfError(reply.error);
    return reply.frames;
  }

  /** Wait until control[word] differs from `from` (the worker changed it), or the worker failed, or the timeout. */
  private waitFor(word: number, from: number, timeoutMs: number, what: string): void {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      if (Atomics.load(this.control, word) !== from) return;
      if (Atomics.load(this.control, CTRL_ERROR) !== 0) {
        const msg = this.receive();
        void this.worker.terminate();
        throw new TinyNfError(`simulator worker failed during ${what}: ${msg?.type === 'error' ? msg.message : 'unknown error'}`);
      }
      const left = deadline - performance.now();
      if (left <= 0) {
        void this.worker.terminate();
        throw new TinyNfError(`simulator worker did not answer '${what}' within ${timeoutMs} ms${this.workerError ? `: ${this.workerError}` : ''}`);
      }
      Atomics.wait(this.control, word, from, Math.min(left, 50));
    }
  }

  private receive(): FromWorker | undefined {
    const m = receiveMessageOnPort(this.port);
    return m === undefined ? undefined : (m.message as FromWorker);
  }
}

export type { Violation };
