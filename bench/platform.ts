// The simulated machine a benchmark runs on: two in-memory 82599 ports whose NICs run in a worker thread on the
// other core (src/sim/worker.ts, SimWorker), so the driver thread's time is the driver's and the NF's alone.
// When SimWorker is not available (an older build) the NICs run inline, between rounds of polls, in the driver
// thread: the numbers are then labelled `inline` and the driver's time includes the simulator's.
import * as fs from 'fs';
import type { SimulatedPlatform } from '../src/env/simulated';
import type { TxPacing } from '../src/sim/nic';
import { SimMachine } from '../src/sim/machine';
import { closeWire, createInput, createOutput, InputDescription, OutputDescription } from '../src/sim/wires/describe';
import type { WireInput, WireOutput } from '../src/sim/wire';

export interface PortCounters {
  rxPackets: number;
  rxMissed: number;
  txPackets: number;
  /** Receive polls, and those that found the NIC behind (SimNic.rxBursts, rxBurstsBehind). */
  rxBursts: number;
  rxBurstsBehind: number;
}

/** The share of the simulator's receive polls, over all ports, that found it behind (behindFraction). */
export function behindShare(ports: readonly PortCounters[]): number {
  let bursts = 0;
  let behind = 0;
  for (const p of ports) {
    bursts += p.rxBursts;
    behind += p.rxBurstsBehind;
  }
  return bursts > 0 ? behind / bursts : 0;
}

/** What a benchmark needs from a simulated machine, whichever way its NICs run. */
export interface BenchSim {
  readonly mode: 'worker' | 'inline';
  /** Simulator threads spinning beside the driver's (worker mode; 0 inline: the NICs run in the driver's thread). */
  readonly simThreads: number;
  readonly platform: SimulatedPlatform;
  readonly addresses: readonly string[];
  setInput(port: number, desc: InputDescription): void;
  addOutput(port: number, desc: OutputDescription): void;
  setTxPacing(port: number, pacing: TxPacing): void;
  stats(port: number): PortCounters;
  /**
   * The simulator's headroom since the last resetCounters(): the share of its time (worker: of its loop's wall time;
   * inline: of its loop iterations) in which no NIC had anything to do.
   */
  idleFraction(): number;
  /**
   * Since the last resetCounters(): the share of the simulator's receive polls that took a whole burst and left
   * frames waiting (SimNic.rxBurstsBehind). Near 1 when it cannot keep up with its inputs; at line rate `idleFraction`
   * is ~0 whatever its capacity (every poll finds frames due), this is not.
   */
  behindFraction(): number;
  resetCounters(): void;
  violationCount(): number;
  /** Inline mode: run the NICs for a while (called by the driver loop after each round); worker mode: undefined. */
  readonly afterRound: (() => void) | undefined;
  /** Stop the NICs; `details`: the first few violations, one line each (for the log). */
  stop(): Promise<{ violations: number; details: string[] }>;
}

/** The shape of src/sim/worker.ts's SimWorker, as far as benchmarks use it. */
interface SimWorkerLike extends SimulatedPlatform {
  readonly addresses: readonly string[];
  setInput(port: number, desc: unknown): void;
  addOutput(port: number, desc: unknown): void;
  setTxPacing(port: number, pacing: TxPacing): void;
  stats(port: number): PortCounters;
  idleFraction(): number;
  /** Time-based idle fraction (newer SimWorker builds). */
  idleTimeFraction?(): number;
  resetCounters(): void;
  violationCount(): number;
  stop(): Promise<{ violations: readonly unknown[] | number }>;
}

interface SimWorkerModule {
  SimWorker: { start(options: { ports: number; idleSleepUs?: number; threads?: number }): SimWorkerLike };
}

let workerModule: SimWorkerModule | null | undefined;

function loadWorkerModule(): SimWorkerModule | null {
  if (workerModule === undefined) {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const m = require('../src/sim/worker') as Partial<SimWorkerModule>;
      workerModule = m.SimWorker !== undefined && typeof m.SimWorker.start === 'function' ? (m as SimWorkerModule) : null;
    } catch {
      workerModule = null;
    }
  }
  return workerModule;
}

/** Whether the simulator can run in a worker thread in this build. */
export function workerAvailable(): boolean {
  return loadWorkerModule() !== null;
}

/**
 * Start a two-port simulated machine: in a worker thread if possible (or if `mode` says so), else inline;
 * `simThreads` 2: each port in a worker thread of its own.
 */
export function startSim(mode: 'auto' | 'worker' | 'inline' = 'auto', simThreads = 1): BenchSim {
  const m = mode === 'inline' ? null : loadWorkerModule();
  if (m === null) {
    if (mode === 'worker' || simThreads > 1) throw new Error('the simulator worker (src/sim/worker.ts) is not available in this build');
    return new InlineSim();
  }
  return new WorkerSim(m.SimWorker.start({ ports: 2, idleSleepUs: 0, threads: simThreads }), simThreads);
}

class WorkerSim implements BenchSim {
  readonly mode = 'worker';
  readonly afterRound = undefined;
  constructor(
    private readonly sim: SimWorkerLike,
    readonly simThreads: number,
  ) {}
  get platform(): SimulatedPlatform {
    return this.sim;
  }
  get addresses(): readonly string[] {
    return this.sim.addresses;
  }
  setInput(port: number, desc: InputDescription): void {
    this.sim.setInput(port, desc);
  }
  addOutput(port: number, desc: OutputDescription): void {
    this.sim.addOutput(port, desc);
  }
  setTxPacing(port: number, pacing: TxPacing): void {
    this.sim.setTxPacing(port, pacing);
  }
  stats(port: number): PortCounters {
    const s = this.sim.stats(port);
    return { rxPackets: s.rxPackets, rxMissed: s.rxMissed, txPackets: s.txPackets, rxBursts: s.rxBursts, rxBurstsBehind: s.rxBurstsBehind };
  }
  behindFraction(): number {
    return behindShare(this.sim.addresses.map((_, p) => this.stats(p)));
  }
  idleFraction(): number {
    // time, not iterations: an idle iteration is far shorter than a busy one
    return this.sim.idleTimeFraction !== undefined ? this.sim.idleTimeFraction() : this.sim.idleFraction();
  }
  resetCounters(): void {
    this.sim.resetCounters();
  }
  violationCount(): number {
    return this.sim.violationCount();
  }
  async stop(): Promise<{ violations: number; details: string[] }> {
    const r = await this.sim.stop();
    if (typeof r.violations === 'number') return { violations: r.violations, details: [] };
    return { violations: r.violations.length, details: r.violations.slice(0, 3).map((v) => describe(v)) };
  }
}

/** Simulated time per inline round (as `tinynf run --sim`). */
const INLINE_STEP_US = 5;

class InlineSim implements BenchSim {
  readonly mode = 'inline';
  readonly simThreads = 0;
  readonly machine = new SimMachine({ ports: 2 });
  readonly afterRound: () => void;
  private readonly wires: (WireInput | WireOutput)[] = [];
  private base: PortCounters[] = [];
  private polls = 0;
  private idlePolls = 0;

  constructor() {
    this.afterRound = () => this.machine.advanceUs(INLINE_STEP_US);
    this.resetCounters();
  }
  get platform(): SimulatedPlatform {
    return this.machine;
  }
  get addresses(): readonly string[] {
    return this.machine.addresses;
  }
  setInput(port: number, desc: InputDescription): void {
    const w = createInput(desc);
    this.wires.push(w);
    this.machine.nic(port).attachInput(w);
  }
  addOutput(port: number, desc: OutputDescription): void {
    const w = createOutput(desc);
    this.wires.push(w);
    this.machine.nic(port).attachOutput(w);
  }
  setTxPacing(port: number, pacing: TxPacing): void {
    this.machine.setTxPacing(port, pacing);
  }
  private raw(port: number): PortCounters {
    const nic = this.machine.nic(port);
    const s = nic.stats;
    return { rxPackets: s.rxPackets, rxMissed: s.rxMissed, txPackets: s.txPackets, rxBursts: nic.rxBursts, rxBurstsBehind: nic.rxBurstsBehind };
  }
  stats(port: number): PortCounters {
    const r = this.raw(port);
    const b = this.base[port];
    return {
      rxPackets: r.rxPackets - b.rxPackets,
      rxMissed: r.rxMissed - b.rxMissed,
      txPackets: r.txPackets - b.txPackets,
      rxBursts: r.rxBursts - b.rxBursts,
      rxBurstsBehind: r.rxBurstsBehind - b.rxBurstsBehind,
    };
  }
  behindFraction(): number {
    return behindShare(this.machine.nics.map((_, p) => this.stats(p)));
  }
  idleFraction(): number {
    let polls = 0;
    let idle = 0;
    for (const nic of this.machine.nics) {
      polls += nic.polls;
      idle += nic.idlePolls;
    }
    polls -= this.polls;
    idle -= this.idlePolls;
    return polls > 0 ? idle / polls : 0;
  }
  resetCounters(): void {
    this.base = this.machine.nics.map((_, i) => this.raw(i));
    this.polls = 0;
    this.idlePolls = 0;
    for (const nic of this.machine.nics) {
      this.polls += nic.polls;
      this.idlePolls += nic.idlePolls;
    }
  }
  violationCount(): number {
    return this.machine.violations.length;
  }
  async stop(): Promise<{ violations: number; details: string[] }> {
    for (const w of this.wires) closeWire(w);
    return { violations: this.machine.violations.length, details: this.machine.violations.slice(0, 3).map((v) => describe(v)) };
  }
}

/** One line for a violation record of the simulator's checker (whatever its exact shape). */
function describe(v: unknown): string {
  return typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v);
}

/** CPU time counters (Linux /proc), to tell how much of the machine other processes took during a measurement. */
export interface CpuSample {
  wallNs: number;
  /** Non-idle time of all CPUs (user, nice, system, irq, softirq, steal), clock ticks. */
  busyTicks: number;
  /** This process's user + system time (all its threads), clock ticks. */
  selfTicks: number;
}

/** USER_HZ: the unit of /proc/stat and /proc/self/stat times (100 on every Linux architecture node runs on). */
const TICKS_PER_S = 100;

// A measuring tool's look at the machine, not the library's: the rule that only src/env/ calls the OS is about the
// driver and NFs; reading /proc/stat here keeps the benchmark self-contained.
export function sampleCpu(): CpuSample | null {
  try {
    const stat = fs.readFileSync('/proc/stat', 'utf8');
    const cpu = stat.slice(0, stat.indexOf('\n')).trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal ...
    const busyTicks = cpu[0] + cpu[1] + cpu[2] + (cpu[5] ?? 0) + (cpu[6] ?? 0) + (cpu[7] ?? 0);
    const self = fs.readFileSync('/proc/self/stat', 'utf8');
    const fields = self.slice(self.lastIndexOf(')') + 2).split(' ');
    // after "pid (comm) ": state is field 3, utime field 14, stime field 15 (proc(5))
    const selfTicks = Number(fields[11]) + Number(fields[12]);
    if (!Number.isFinite(busyTicks) || !Number.isFinite(selfTicks)) return null;
    return { wallNs: performance.now() * 1e6, busyTicks, selfTicks };
  } catch {
    return null;
  }
}

/** CPUs' worth of time other processes used between two samples (0 = the machine was ours), or null if unknown. */
export function othersCpu(a: CpuSample | null, b: CpuSample | null): number | null {
  if (a === null || b === null || b.wallNs <= a.wallNs) return null;
  const seconds = (b.wallNs - a.wallNs) / 1e9;
  const others = (b.busyTicks - a.busyTicks - (b.selfTicks - a.selfTicks)) / TICKS_PER_S / seconds;
  return Math.max(0, Math.round(others * 100) / 100);
}
