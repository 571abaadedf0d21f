// One benchmark run = one fresh simulated machine (NICs in a worker thread), one driver model, one NF:
// throughput (unidirectional or bidirectional), latency at a fixed load, or agents on worker threads.
//
// Throughput is the forwarding rate at the maximum offered load (RFC 2889's "forwarding rate at maximum offered
// load"): 64-byte frames offered at 10G line rate (14.88 Mpps) on each input port, frames out of the NICs per second
// after a warm-up. The simulated NIC cannot generate line rate (one thread generates, receives and transmits for
// both ports: ~7 Mpps), so the offered load is in fact what the simulator manages; whichever of the driver thread
// (busy nearly all the time) and the simulator (never idle) gives out is reported as the limit. Frames the NIC
// receives without a free descriptor are dropped cheaply (the generator skips them), so overload does not collapse
// the simulator's throughput (no receive livelock).
//
// Optionally (`ndr`), also the no-drop rate (NDR, as RFC 2544 and the TinyNF/Vigor evaluations): the highest
// offered load at which at most 0.1% of the frames are lost, found by trials (doubling from a start rate, then
// bisecting to within 5%). On a shared two-core VM it is fragile: the simulator's thread loses the CPU for
// milliseconds now and then, its generator catches up in a burst, and a ring overflows whatever the driver; and
// every trial builds a new generator (one template per flow), whose garbage causes pauses of its own.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { SimulatedEnvironment } from '../src/env/simulated';
import { DriverModel, DriverPorts } from '../src/app/driver-ports';
import { Agent } from '../src/ixgbe/agent';
import { AgentWorker } from '../src/ixgbe/workers';
import { NETWORK_FUNCTIONS, NfDefinition } from '../src/nf';
import { CoarseClock } from '../src/nf/lib/coarse-clock';
import { STAMP_OFFSET_UDP, lineRateMpps } from '../src/sim/wires/generator';
import { drive, nowNs } from './drive';
import { BenchSim, CpuSample, othersCpu, sampleCpu, startSim } from './platform';
import type { InputDescription } from '../src/sim/wires/describe';
import { FLEXIBLE_OPTIONS, FRAME_SIZE, flowsFor, generatorFor, profileOf } from './traffic';
import type { WorkerHandlerArgs } from './worker-handlers';

export type TestKind = 'throughput' | 'bidirectional' | 'latency' | 'multicore';
export type Limit = 'simulator' | 'driver' | 'stalls' | 'line-rate' | 'inline-simulator' | 'fixed-load' | 'oversubscribed' | 'no-traffic';

/** Line rate of 64-byte frames on one 10G port, Mpps (14.88). */
export const LINE_RATE_MPPS = lineRateMpps(FRAME_SIZE);
/** Largest loss of a passing trial. */
export const NDR_LOSS = 0.001;
/** Other processes using this many CPUs' worth of time during a row mark it `contended`. */
export const CONTENDED_CPUS = 0.2;
/** So does a calibration this many times the best of the run (the core was slower: see bench/row.ts calibrate()). */
export const CONTENDED_SLOWDOWN = 1.25;

export interface LatencyNs {
  p50: number;
  p99: number;
  p999: number;
  max: number;
  mean: number;
  samples: number;
}

/** A JSON row of `tinynf bench --json` (ARCHITECTURE.md: nf, model, mpps, ns_per_packet, plus these). */
export interface Row {
  test: TestKind;
  nf: string;
  model: DriverModel;
  /** Frames out of the NICs per second (all ports) at the maximum offered load (latency rows: at the fixed load), millions. */
  mpps: number;
  /** With --ndr: the no-drop rate (frames out per second at the highest offered load losing <= 0.1%), millions. */
  ndr_mpps: number | null;
  /** Driver + NF time per received packet: busy rounds' time / packets (multicore: threads x wall / packets). */
  ns_per_packet: number;
  /** What one driver thread could forward at that cost: 1000 / ns_per_packet (multicore: x threads). */
  driver_capacity_mpps: number;
  /** Share of the driver thread's time spent in rounds that found packets. */
  driver_busy: number;
  /** Share of the simulator's time in which no NIC had anything to do, in the final run (its headroom). */
  sim_idle: number;
  /**
   * Share of the simulator's receive polls, in the final run, that took a whole burst and left frames waiting
   * (BenchSim.behindFraction): near 1 when it could not keep up with its inputs.
   */
  sim_behind: number;
  /** With --ndr: simulator idle and driver busy fractions in the lowest failing trial (what gave out above the NDR). */
  sim_idle_above: number | null;
  driver_busy_above: number | null;
  /** What limited `mpps` (a simulator-limited result says nothing about the driver but its ns_per_packet). */
  limited_by: Limit;
  /** Offered load per input port (line rate; latency rows: the fixed load), Mpps. */
  offered_mpps: number;
  /**
   * Throughput rows: frames the NICs received but had no descriptor for (the driver fell behind) / frames that
   * reached the NICs. Latency rows: (offered - received) / offered.
   */
  loss: number;
  direction: 'uni' | 'bi';
  input_ports: number[];
  flows: number;
  /** Driver threads (1: the main thread; multicore rows: agent worker threads). */
  threads: number;
  /** Simulator threads beside them (`--sim-threads`; 0: the NICs ran inline, in the driver's thread). */
  sim_threads: number;
  seconds: number;
  rx_packets: number;
  nic_tx_packets: number;
  /** Dropped by the NF (its decision, e.g. policed). */
  dropped_packets: number;
  /** Frames the NICs dropped for lack of a free descriptor in the measured run. */
  nic_missed: number;
  /** With --ndr: the trials of the search. */
  trials: { offered_mpps: number; loss: number; pass: boolean }[];
  /** Busy rounds of the measured run left out of ns_per_packet as preempted (longer than 1 ms; bench/drive.ts). */
  preempted_rounds: number;
  /** Times the driver thread lost the CPU for more than 200 us in the measured run, and their total, ms. */
  driver_stalls: number;
  driver_stalled_ms: number;
  /** CPUs' worth of time other processes took during the row (null: unknown, not Linux). */
  others_cpu: number | null;
  /** ns per iteration of a fixed integer loop, mean of before and after the row (bench/row.ts calibrate()). */
  calibration_ns: number;
  /**
   * The machine was shared during the row: other processes used >= CONTENDED_CPUS of it, or (set by bench.ts) the
   * calibration was CONTENDED_SLOWDOWN times the run's best. Read its numbers with care.
   */
  contended: boolean;
  violations: number;
  /** The first few violations the simulator's checker reported (when there are any). */
  violation_details?: string[];
  sim: 'worker' | 'inline';
  latency_ns?: LatencyNs;
}

export interface RunTiming {
  /** Before anything is measured (JIT of both threads, flow tables), at the measured load. */
  warmupS: number;
  /** The measured run. */
  durationS: number;
  /** Also search the no-drop rate (after the measured run). */
  ndr?: boolean;
  /** Each NDR trial. */
  trialS: number;
  /** See drive.ts. */
  backlogUs: number;
  /** First trial's offered load per port (e.g. the NDR of a similar run), Mpps. */
  startMpps: number;
  /** Trials at most (besides the final run). */
  maxTrials: number;
  /** Factor between trials until the first failure (or pass, going down): 2 from a guess, less from a good hint. */
  growth: number;
  /** Trials at most while the search has not bracketed the rate (default 12; see searchNdr). */
  bracketTrials?: number;
}

interface Setup {
  sim: BenchSim;
  /** CPU counters when the row started (others_cpu covers the whole row: warm-up, trials, final run). */
  cpuStart: CpuSample | null;
  def: NfDefinition;
  config: unknown;
  flows: number;
  clock: CoarseClock;
  attached: ReturnType<DriverPorts['attach']>;
}

function setUp(nfName: string, model: DriverModel, simThreads: number): Setup {
  const def = NETWORK_FUNCTIONS[nfName];
  if (def === undefined) throw new Error(`NF ${nfName} is not registered`);
  const config = def.parseConfig({});
  const sim = startSim('auto', simThreads);
  try {
    const env = new SimulatedEnvironment(sim.platform);
    const ports = new DriverPorts(env, sim.addresses, model, FLEXIBLE_OPTIONS);
    // The NF's clock: real time (the simulator's worker runs in real time too), coarse: set once per round.
    const clock = new CoarseClock({ nowNs });
    const nf = def.create(config, { clock, ports: 2 });
    const attached = ports.attach(nf);
    for (let p = 0; p < 2; p++) sim.setTxPacing(p, 'unlimited');
    return { sim, cpuStart: sampleCpu(), def, config, flows: flowsFor(def, config), clock, attached };
  } catch (e) {
    void sim.stop().catch(() => undefined);
    throw e;
  }
}

/** What a trial (or the final run) measured. */
interface Window {
  rate: number;
  seconds: number;
  offered: number;
  rx: number;
  missed: number;
  tx: number;
  loss: number;
  simIdle: number;
  simBehind: number;
  busyNs: number;
  /** Packets handled in the busy rounds (driver + NF time busyNs). */
  busyPackets: number;
  preemptedRounds: number;
  preemptedNs: number;
  /** The driver thread lost the CPU (bench/drive.ts): count and total time, ns. */
  stalls: number;
  stalledNs: number;
  driverDropped: number;
}

interface RunResult {
  seconds: number;
  busyNs: number;
  busyPackets: number;
  preemptedRounds: number;
  preemptedNs: number;
  stalls: number;
  stalledNs: number;
  dropped: number;
}

/** Something that can run traffic at a rate for a while: the main-thread driver, or agents on workers. */
interface Runner {
  readonly sim: BenchSim;
  readonly inputs: readonly number[];
  /** Run (driver or sleep) for `seconds`; returns busy time and driver counts where known. */
  run(seconds: number, backlogUs: number): Promise<RunResult>;
}

/** The generator description of `rate` Mpps per port (line rate or more: 'line-rate'). */
function traffic(nf: string, port: number, flows: number, rate: number): InputDescription {
  return { kind: 'generator', ...generatorFor(nf, port, flows, rate >= LINE_RATE_MPPS ? 'line-rate' : rate) };
}

/** A fresh generator at `rate` on every input (after draining the rings), then a measured window. */
async function window(r: Runner, nf: string, flows: number, rate: number, seconds: number, backlogUs: number): Promise<Window> {
  const { sim, inputs } = r;
  // Drain: no input until the rings are empty, so a trial never inherits the previous one's backlog.
  for (const p of inputs) sim.setInput(p, { kind: 'none' });
  await r.run(0.02, 0);
  for (const p of inputs) sim.setInput(p, traffic(nf, p, flows, rate));
  await r.run(0.01, backlogUs); // ramp: the generator's clock starts at its first frame
  return sample(r, rate, seconds, backlogUs);
}

/** Measure `seconds` of whatever the inputs offer now (at `rate` per port). */
async function sample(r: Runner, rate: number, seconds: number, backlogUs: number): Promise<Window> {
  const { sim, inputs } = r;
  sim.resetCounters();
  const d = await r.run(seconds, backlogUs);
  let rx = 0;
  let missed = 0;
  let tx = 0;
  for (const p of inputs) {
    const s = sim.stats(p);
    rx += s.rxPackets;
    missed += s.rxMissed;
  }
  for (let p = 0; p < 2; p++) tx += sim.stats(p).txPackets;
  const offered = rate * 1e6 * d.seconds * inputs.length;
  const loss = offered > 0 ? Math.max(0, (offered - rx) / offered) : 0;
  return {
    rate,
    seconds: d.seconds,
    offered,
    rx,
    missed,
    tx,
    loss,
    simIdle: sim.idleFraction(),
    simBehind: sim.behindFraction(),
    busyNs: d.busyNs,
    busyPackets: d.busyPackets,
    preemptedRounds: d.preemptedRounds,
    preemptedNs: d.preemptedNs,
    stalls: d.stalls,
    stalledNs: d.stalledNs,
    driverDropped: d.dropped,
  };
}

/**
 * Search for the no-drop rate: from `t.startMpps`, multiply by `t.growth` until a trial fails (or line rate passes;
 * halve instead while nothing passed), then bisect between the best pass and the lowest failure to within 5%, `t.maxTrials` trials in all (the growth
 * phase may exceed it, up to MAX_GROWTH_TRIALS, so every search brackets the rate). Returns the passing window with
 * the highest rate (or null) and the lowest failure above it.
 */
async function searchNdr(r: Runner, nf: string, flows: number, t: RunTiming, log: Window[]): Promise<{ pass: Window | null; fail: Window | null }> {
  let pass: Window | null = null;
  let fail: Window | null = null;
  let rate = Math.min(t.startMpps, LINE_RATE_MPPS);
  const bracketTrials = t.bracketTrials ?? MAX_GROWTH_TRIALS;
  for (let trial = 0; trial < t.maxTrials || ((pass === null || fail === null) && trial < bracketTrials); trial++) {
    let w = await window(r, nf, flows, rate, t.trialS, t.backlogUs);
    // Retries (best of up to three tries): on this shared VM the simulator's thread loses the CPU for 1.5-3.5 ms
    // about every half second (and the driver's thread too); its generator then catches up in a burst that
    // overflows a ring whatever the driver. A trial that lost a few percent may be such an accident, and is tried
    // again; one that lost more (over RETRY_LOSS) was above capacity.
    for (let again = 0; w.loss > NDR_LOSS && (w.loss < RETRY_LOSS || disturbed(w)) && again < 2; again++) {
      const retry = await window(r, nf, flows, rate, t.trialS, t.backlogUs);
      if (retry.loss < w.loss) w = retry;
    }
    log.push(w);
    if (w.loss <= NDR_LOSS) {
      if (pass === null || w.rate > pass.rate) pass = w;
    } else if (fail === null || w.rate < fail.rate) {
      fail = w;
    }
    if (pass !== null && pass.rate >= LINE_RATE_MPPS) break;
    if (fail === null) rate = Math.min(LINE_RATE_MPPS, rate * t.growth);
    else if (pass === null) rate = rate / 2;
    else {
      if ((fail.rate - pass.rate) / fail.rate <= 0.05) break;
      rate = (pass.rate + fail.rate) / 2;
    }
    if (rate < 0.01) break;
  }
  return { pass, fail };
}

/** Trials losing more than this are not retried (see searchNdr). */
const RETRY_LOSS = 0.15;

/** Whether the driver thread's stalls in a window explain its loss (packets offered while it had no CPU). */
function disturbed(w: Window): boolean {
  const lost = w.offered - w.rx;
  return lost > 0 && w.stalledNs * w.rate * 1e-3 >= lost;
}

/** Trials at most while the search has not yet bracketed the no-drop rate (by default). */
const MAX_GROWTH_TRIALS = 12;

const r3 = (v: number): number => Math.round(v * 1000) / 1000;
const r1 = (v: number): number => Math.round(v * 10) / 10;

/** What limited a run at the maximum offered load. */
function classify(sim: BenchSim, w: Window, inputs: number, threads: number, onWorkers: boolean): Limit {
  // Nothing received or nothing sent: no rate was limited by anything (the NF drops everything, or forwarding
  // never started); calling it "limited by simulator" would blame the NIC for a zero
  if (w.rx === 0 || w.tx === 0) return 'no-traffic';
  if (sim.mode === 'inline') return 'inline-simulator';
  // More spinning threads (driver threads + the simulator's) than cores: the scheduler time-slices them, and a
  // descheduled simulator or agent fills the rings within a slice; the result says nothing about scaling.
  if (threads + sim.simThreads > os.cpus().length) return 'oversubscribed';
  if (w.rx >= 0.99 * LINE_RATE_MPPS * 1e6 * w.seconds * inputs) return 'line-rate';
  // The driver gave out if it was busy nearly all the time (main thread) or the simulator still had time to spare
  // (agents on workers spin: their busy time is unknown); otherwise the simulator did.
  if (onWorkers) return w.simIdle < 0.05 ? 'simulator' : 'driver';
  if (w.busyNs / (w.seconds * 1e9) >= DRIVER_BUSY_LIMIT) return 'driver';
  // The driver had time to spare. The simulator is the limit if it was behind its inputs at a good share of its
  // polls (one that cannot keep up is behind at nearly every poll); otherwise neither was saturated and what was
  // lost went to threads losing the CPU or to the host's slow spells (the stalls column)
  return w.simBehind >= SIM_BEHIND_LIMIT ? 'simulator' : 'stalls';
}

/** A driver thread busy this share of the time is the limit (the rest: clock reads, idle polls, backlog waits). */
const DRIVER_BUSY_LIMIT = 0.85;

/**
 * A simulator behind its inputs at this share of its receive polls is the limit. One that keeps up is behind only
 * in the polls after one that came late (2-10% in the no-op rows on the development VM, 2026-12-03).
 */
const SIM_BEHIND_LIMIT = 0.2;

function withDetails(row: Row, details: string[]): Row {
  if (details.length > 0) row.violation_details = details;
  return row;
}

function makeRow(
  test: TestKind,
  nf: string,
  model: DriverModel,
  s: Setup,
  inputs: number[],
  final: Window,
  ndr: { pass: Window | null; fail: Window | null; log: Window[] } | null,
  limit: Limit,
  threads: number,
  violations: number,
): Row {
  const fail = ndr?.fail ?? null;
  // Main-thread rows: busy time / packets the driver received. Worker rows (test 'multicore', even with one worker):
  // the workers spin, so their cost is their whole time: threads x wall time / packets the NICs delivered.
  const onWorkers = test === 'multicore';
  const othersNow = othersCpu(s.cpuStart, sampleCpu());
  const perThreadNs = !onWorkers ? (final.busyPackets > 0 ? final.busyNs / final.busyPackets : 0) : final.rx > 0 ? (threads * final.seconds * 1e9) / final.rx : 0;
  return {
    test,
    nf,
    model,
    mpps: r3(final.tx / final.seconds / 1e6),
    ndr_mpps: ndr === null ? null : ndr.pass === null ? 0 : r3(ndr.pass.tx / ndr.pass.seconds / 1e6),
    ns_per_packet: r1(perThreadNs),
    driver_capacity_mpps: perThreadNs > 0 ? r3((1000 / perThreadNs) * threads) : 0,
    driver_busy: !onWorkers ? r3(final.busyNs / (final.seconds * 1e9)) : 1,
    sim_idle: r3(final.simIdle),
    sim_behind: r3(final.simBehind),
    sim_idle_above: fail === null ? null : r3(fail.simIdle),
    driver_busy_above: fail === null ? null : !onWorkers ? r3(fail.busyNs / (fail.seconds * 1e9)) : 1,
    limited_by: limit,
    offered_mpps: r3(final.rate),
    loss: Math.round((test === 'latency' ? final.loss : final.rx + final.missed > 0 ? final.missed / (final.rx + final.missed) : 0) * 1e5) / 1e5,
    direction: inputs.length === 2 ? 'bi' : 'uni',
    input_ports: inputs,
    flows: s.flows,
    threads,
    sim_threads: s.sim.simThreads,
    seconds: r3(final.seconds),
    rx_packets: final.rx,
    nic_tx_packets: final.tx,
    dropped_packets: final.driverDropped,
    nic_missed: final.missed,
    trials: (ndr?.log ?? []).map((w) => ({ offered_mpps: r3(w.rate), loss: Math.round(w.loss * 1e5) / 1e5, pass: w.loss <= NDR_LOSS })),
    preempted_rounds: final.preemptedRounds,
    driver_stalls: final.stalls,
    driver_stalled_ms: r3(final.stalledNs / 1e6),
    others_cpu: othersNow,
    calibration_ns: 0,
    contended: othersNow !== null && othersNow >= CONTENDED_CPUS,
    violations,
    sim: s.sim.mode,
  };
}

function mainThreadRunner(s: Setup, inputs: number[]): Runner {
  const { forwarders, handlers } = s.attached;
  return {
    sim: s.sim,
    inputs,
    run: async (seconds, backlogUs) => {
      const d = drive(forwarders, handlers, { durationS: seconds, clock: s.clock, afterRound: s.sim.afterRound, backlogUs });
      return {
        seconds: d.seconds,
        busyNs: d.busyNs,
        busyPackets: d.busyPackets,
        preemptedRounds: d.preemptedRounds,
        preemptedNs: d.preemptedNs,
        stalls: d.stalls,
        stalledNs: d.stalledNs,
        dropped: d.droppedPackets,
      };
    },
  };
}

/**
 * Throughput of `nf` on `model` at the maximum offered load: line rate on the NF's interesting port ('uni') or on
 * both ports ('bi'); with `t.ndr`, also the no-drop rate.
 */
export async function measureThroughput(nfName: string, model: DriverModel, direction: 'uni' | 'bi', t: RunTiming, simThreads = 1): Promise<Row> {
  const s = setUp(nfName, model, simThreads);
  let stopped = false;
  try {
    const inputs = direction === 'bi' ? [0, 1] : [profileOf(nfName).port];
    const runner = mainThreadRunner(s, inputs);
    for (const p of inputs) s.sim.setInput(p, traffic(nfName, p, s.flows, LINE_RATE_MPPS));
    await runner.run(t.warmupS, t.backlogUs);
    const final = await sample(runner, LINE_RATE_MPPS, t.durationS, t.backlogUs);
    let ndr: { pass: Window | null; fail: Window | null; log: Window[] } | null = null;
    if (t.ndr === true) {
      const log: Window[] = [];
      ndr = { ...(await searchNdr(runner, nfName, s.flows, t, log)), log };
    }
    stopped = true;
    const { violations, details } = await s.sim.stop();
    const test = direction === 'bi' ? 'bidirectional' : 'throughput';
    return withDetails(makeRow(test, nfName, model, s, inputs, final, ndr, classify(s.sim, final, inputs.length, 1, false), 1, violations), details);
  } finally {
    if (!stopped) await s.sim.stop().catch(() => undefined);
  }
}

/**
 * Latency of `nf` on `model` at `rateMpps` offered on its interesting port: the generator stamps every frame with
 * the simulated time it was due on the wire; the output port writes a pcap (ns timestamps = when the frame left the
 * NIC) whose records give wire-to-wire latency. The driver polls continuously (no backlog wait).
 */
export async function measureLatency(nfName: string, model: DriverModel, rateMpps: number, t: RunTiming, simThreads = 1): Promise<Row> {
  const s = setUp(nfName, model, simThreads);
  const input = profileOf(nfName).port;
  const output = nfName === 'nop' || profileOf(nfName).port === 0 ? 1 : 0;
  const dir = fs.mkdtempSync(path.join(fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir(), 'tinynf-bench-'));
  const file = path.join(dir, `latency-${model}.pcap`);
  let stopped = false;
  try {
    const runner = mainThreadRunner(s, [input]);
    // Stamped frames and the pcap output from the start, so the warm-up also compiles the simulator's stamping and
    // pcap paths; only frames due during the measured run count.
    // snaplen: the headers and the stamp (sequence number, due time) are all that is read back
    s.sim.addOutput(output, { kind: 'pcap-out', path: file, snaplen: STAMP_OFFSET_UDP + 16, resolution: 'ns' });
    s.sim.setInput(input, { kind: 'generator', ...generatorFor(nfName, input, s.flows, rateMpps, true) });
    await runner.run(Math.max(t.warmupS, LATENCY_MIN_WARMUP_S), 0);
    s.sim.resetCounters();
    const fromNs = nowNs();
    const d = await runner.run(Math.max(t.durationS, LATENCY_MIN_DURATION_S), 0);
    const toNs = nowNs();
    const st = s.sim.stats(input);
    let tx = 0;
    for (let p = 0; p < 2; p++) tx += s.sim.stats(p).txPackets;
    const final: Window = {
      rate: rateMpps,
      busyPackets: d.busyPackets,
      preemptedRounds: d.preemptedRounds,
      preemptedNs: d.preemptedNs,
      stalls: d.stalls,
      stalledNs: d.stalledNs,
      seconds: d.seconds,
      offered: rateMpps * 1e6 * d.seconds,
      rx: st.rxPackets,
      missed: st.rxMissed,
      tx,
      loss: Math.max(0, 1 - st.rxPackets / (rateMpps * 1e6 * d.seconds)),
      simIdle: s.sim.idleFraction(),
      simBehind: s.sim.behindFraction(),
      busyNs: d.busyNs,
      driverDropped: d.dropped,
    };
    // the frames due in the last ~100 us may still be on their way: give them time to leave
    await runner.run(0.005, 0);
    stopped = true;
    const { violations, details } = await s.sim.stop(); // closes the pcap writer
    const row = withDetails(makeRow('latency', nfName, model, s, [input], final, null, 'fixed-load', 1, violations), details);
    row.latency_ns = latencyFromPcap(file, fromNs, toNs);
    return row;
  } finally {
    if (!stopped) await s.sim.stop().catch(() => undefined);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Latency runs are never shorter than these (a --quick 0.1 s run would be mostly the first milliseconds' JIT). */
const LATENCY_MIN_WARMUP_S = 0.3;
const LATENCY_MIN_DURATION_S = 0.3;

/**
 * Wire-to-wire latency of the stamped frames of a pcap file (ns timestamps), without building frame objects: of the
 * frames due on the wire in [fromNs, toNs) (simulator time), departure time minus due time.
 */
export function latencyFromPcap(file: string, fromNs = -Infinity, toNs = Infinity): LatencyNs {
  const bytes = fs.readFileSync(file);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 24 || view.getUint32(0, true) !== 0xa1b23c4d) throw new Error(`${file}: not a little-endian ns pcap`);
  const values: number[] = [];
  let at = 24;
  while (at + 16 <= bytes.length) {
    const sec = view.getUint32(at, true);
    const frac = view.getUint32(at + 4, true);
    const incl = view.getUint32(at + 8, true);
    const frame = at + 16;
    if (frame + incl > bytes.length) break;
    if (incl >= STAMP_OFFSET_UDP + 16 && view.getUint16(frame + 12) === 0x0800 && bytes[frame + 23] === 17) {
      const due = view.getFloat64(frame + STAMP_OFFSET_UDP + 8, true);
      if (due >= fromNs && due < toNs) values.push(sec * 1e9 + frac - due);
    }
    at = frame + incl;
  }
  const sorted = Float64Array.from(values).sort();
  const n = sorted.length;
  const q = (p: number): number => (n === 0 ? 0 : sorted[Math.min(n - 1, Math.floor(p * n))]);
  let sum = 0;
  for (let i = 0; i < n; i++) sum += sorted[i];
  return { p50: r1(q(0.5)), p99: r1(q(0.99)), p999: r1(q(0.999)), max: r1(n > 0 ? sorted[n - 1] : 0), mean: r1(n > 0 ? sum / n : 0), samples: n };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Restricted agents on worker threads, bidirectional: `workers` = 2 puts one agent (direction) per worker; 1 puts
 * both agents in one worker. The main thread only sleeps. ns_per_packet is thread time per packet (threads x wall
 * time / packets): the workers spin, so that is their whole cost, not their busy time.
 */
export async function measureWorkers(nfName: string, workers: 1 | 2, t: RunTiming, simThreads = 1): Promise<Row> {
  const s = setUp(nfName, 'restricted', simThreads);
  let stopped = false;
  const running: AgentWorker[] = [];
  try {
    const agents = s.attached.forwarders as (Agent | null)[];
    const module = path.join(__dirname, 'worker-handlers.js');
    const args = (port: number): WorkerHandlerArgs => ({ nf: nfName, config: s.config, port });
    if (workers === 2) {
      for (let p = 0; p < 2; p++) {
        if (agents[p] !== null) running.push(AgentWorker.start([agents[p]!], { module, export: 'nfHandler', args: args(p) }));
      }
    } else {
      const both = agents.filter((a): a is Agent => a !== null);
      running.push(AgentWorker.start(both, { module, export: 'nfHandlerByIndex', args: { nf: nfName, config: s.config } }));
    }
    await Promise.all(running.map((w) => w.ready));
    const inputs = [0, 1];
    const runner: Runner = {
      sim: s.sim,
      inputs,
      run: async (seconds) => {
        const start = nowNs();
        await sleep(seconds * 1000);
        return { seconds: (nowNs() - start) / 1e9, busyNs: 0, busyPackets: 0, preemptedRounds: 0, preemptedNs: 0, stalls: 0, stalledNs: 0, dropped: 0 };
      },
    };
    for (const p of inputs) s.sim.setInput(p, traffic(nfName, p, s.flows, LINE_RATE_MPPS));
    await runner.run(t.warmupS, 0);
    const final = await sample(runner, LINE_RATE_MPPS, t.durationS, 0);
    let ndr: { pass: Window | null; fail: Window | null; log: Window[] } | null = null;
    if (t.ndr === true) {
      const log: Window[] = [];
      ndr = { ...(await searchNdr(runner, nfName, s.flows, t, log)), log };
    }
    const finals = await Promise.all(running.map((w) => w.stop()));
    running.length = 0;
    final.driverDropped = finals.flat().reduce((a, x) => a + x.droppedPackets, 0); // whole run (workers publish lazily)
    stopped = true;
    const { violations, details } = await s.sim.stop();
    return withDetails(makeRow('multicore', nfName, 'restricted', s, inputs, final, ndr, classify(s.sim, final, inputs.length, workers, true), workers, violations), details);
  } finally {
    for (const w of running) await w.stop().catch(() => undefined);
    if (!stopped) await s.sim.stop().catch(() => undefined);
  }
}
