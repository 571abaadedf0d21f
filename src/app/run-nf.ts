// Run a network function on two ports — simulated (in-memory 82599s with generated traffic or TAP wires) or real
// 82599s — for a while, with live progress and a summary. Used by `tinynf run` and examples/policer.ts.
import { Environment, TinyNfError, parsePciAddress } from '../env/environment';
import { SimulatedEnvironment } from '../env/simulated';
import { hardwareEnvironment } from '../env/vfio';
import { DriverModel, DriverPorts } from './driver-ports';
import { NfDefinition } from '../nf';
import type { SimTrafficHint } from '../nf/config';
import { CoarseClock } from '../nf/lib/coarse-clock';
import { ETH_MAX_FRAME, ETH_MIN_FRAME } from '../nf/lib/ethernet';
import { NicCounters, snakeCounters } from '../ixgbe/statistics';
import { NetworkFunction, createNf } from '../nf/network-function';
import { Progress, RunSummary, Totals, runLoop } from './run-loop';
import type { MetricsSample, MetricsServer } from './metrics';
import { SimMachine } from '../sim/machine';
import { SimWorker } from '../sim/worker';
import { GeneratorOptions } from '../sim/wires/generator';
import { InputDescription, OutputDescription, closeWire, createInput, createOutput } from '../sim/wires/describe';
import { REPLIES_COUNTER, REPLIES_COUNTERS } from '../sim/wires/replies';
import type { WireInput, WireOutput } from '../sim/wire';
import { VirtioModel, VirtioPorts } from '../virtio/ports';

export interface SimTraffic {
  /** Flows per port (generated traffic); default: the NF's choice (NfDefinition.traffic), else 1000. */
  flows?: number;
  /** Offered load per port: Mpps or 'line-rate' (14.88 Mpps of 64-byte frames, the default). */
  rate?: number | 'line-rate';
  /** Frame size without FCS (default 60). */
  frameSize?: number;
  /** Generated frames' L4 protocol (default: the NF's choice, else 'udp'). */
  protocol?: 'udp' | 'tcp';
  /** Which flow each generated frame belongs to (default 'round-robin'). */
  order?: 'round-robin' | 'random';
  /** Use these TAP devices as the wires of port 0 and 1 instead of generated traffic. */
  taps?: [string, string];
  /** Run the NICs in a worker thread, in real time (SimWorker), instead of inline between rounds of polls. */
  thread?: boolean;
  /** With `thread`: simulator threads, 1 (default) or 2 (a port per thread; SimWorkerOptions.threads). */
  threads?: number;
  /** Also write the frames port 0 and port 1 transmit to these pcap files (tcpdump -r reads them). */
  pcaps?: [string, string];
  /**
   * Replay these pcap files into the ports (index = port; a missing entry: nothing arrives there). Given, it
   * replaces generated traffic on every port.
   */
  pcapIn?: (string | undefined)[];
  /** 'fast' (default): every replayed frame as fast as the port takes them; 'captured': with the capture's timing. */
  pcapTiming?: 'fast' | 'captured';
  /** Capture what each port receives from its wire and transmits onto it, in one pcap per port (index = port). */
  captures?: (string | undefined)[];
}

export interface RunNfOptions {
  definition: NfDefinition;
  config: unknown;
  model: DriverModel;
  durationS: number;
  /** Real 82599 ports (two PCI addresses), or undefined for simulated ones. */
  pci?: string[];
  /** virtio-net ports (two PCI addresses, bound to uio_pci_generic), e.g. in a QEMU guest (docs/virtio.md). */
  virtio?: string[];
  /** Stop early when this returns true (asked about every millisecond). */
  stop?: () => boolean;
  sim?: SimTraffic;
  onProgress?: (p: Progress) => void;
  /** Stop at the first handler fault (one-line HandlerFaultError) instead of dropping the packet and going on. */
  failFast?: boolean;
  /** Publish the counters here (at start, every progress tick and at the end): tinynf run --metrics. */
  metrics?: MetricsServer;
}

export interface RunNfResult {
  summary: RunSummary;
  nf: NetworkFunction;
  /** Data-sheet violations the in-memory NICs reported (always 0 on hardware: nobody checks there). */
  violations: number;
  /** Frames the NICs dropped (MPC + QPRDC, from the driver's reads of the statistics registers). */
  nicMissed: number;
  /** Each port's NIC statistics (Section 8.2.3.23), totals over the run. */
  nic: NicCounters[];
  /** The JSON line of `tinynf run --json` (docs/contracts.md, ARCHITECTURE.md). */
  json: Record<string, unknown>;
}

/** Simulated time that passes per round of polls when the NICs run inline. */
const INLINE_STEP_US = 5;

export function runNf(options: RunNfOptions): RunNfResult {
  const def = options.definition;
  const config = def.parseConfig(options.config);
  if (!(options.durationS > 0)) throw new TinyNfError(`duration must be a positive number of seconds, got ${options.durationS}`);
  if (options.pci !== undefined) return runOnHardware(options, config);
  if (options.virtio !== undefined) return runOnVirtio(options, config);

  const traffic = options.sim ?? {};
  if (traffic.pcapIn !== undefined && traffic.taps !== undefined) throw new TinyNfError('choose --pcap-in or --tap, not both');
  if (traffic.captures !== undefined && traffic.taps !== undefined) throw new TinyNfError('--capture is for generated or replayed traffic, not --tap (capture the TAPs with tcpdump)');
  if (traffic.thread === true) return runOnSimWorker(options, config, traffic);
  const machine = new SimMachine({ ports: 2 });
  const env = new SimulatedEnvironment(machine);
  const ports = new DriverPorts(env, machine.addresses, options.model);
  const clock = new CoarseClock(env);
  const nf = createNf(def, config, { clock, ports: 2 });
  const { forwarders, handlers } = ports.attach(nf, { failFast: options.failFast });
  ports.updateStatistics(); // clear what the registers counted during initialisation (clear-on-read)
  // Wires are attached after initialisation: a generator attached before would offer its first frames while
  // receive is still disabled, and they would all be missed.
  const wires: (WireInput | WireOutput)[] = [];
  const replies: RepliesCounters[] = [];
  for (let port = 0; port < 2; port++) {
    const inputDesc = inputFor(def, config, port, traffic, machine.nowNs());
    if (inputDesc.kind === 'replies') replies.push({ port, counters: inputDesc.counters! });
    let input = createInput(inputDesc);
    const output = createOutput(outputFor(inputDesc, port, traffic));
    const capturePath = traffic.captures?.[port];
    if (capturePath !== undefined) {
      // one file per port with both directions, as dpdk-pdump's --rx-dev and --tx-dev on the same file
      const capture = createOutput(pcapOutput(capturePath));
      const wireInput = input;
      const tapped: WireInput = {
        next(into: Uint8Array, nowNs: number): number {
          const n = wireInput.next(into, nowNs);
          if (n > 0) capture.frame(into, n, nowNs);
          return n;
        },
      };
      input = tapped;
      machine.nic(port).attachOutput(capture);
      wires.push(wireInput, capture);
    }
    machine.nic(port).attachInput(input);
    machine.nic(port).attachOutput(output);
    wires.push(input, output);
    if (traffic.pcaps !== undefined) {
      const capture = createOutput(pcapOutput(traffic.pcaps[port]));
      machine.nic(port).attachOutput(capture);
      wires.push(capture);
    }
  }
  let summary: RunSummary;
  // With TAP wires the other side is the real kernel: simulated time follows real time (each round advances it to
  // the real time elapsed since the start), so time-based NFs act in real seconds (a policer's tokens, NAT and
  // firewall expiry). A fixed step would make it run at whatever speed rounds of TAP system calls take (measured:
  // about 5 times slower than real time, and a policer passing a fifth of its rate).
  const realTime = traffic.taps !== undefined;
  const simOffsetNs = realNowNs() - machine.nowNs();
  try {
    summary = runLoop(nf, forwarders, handlers, {
      durationS: options.durationS,
      onProgress: withNic(ports, options),
      // The NICs run inline, between rounds of polls; the NF sees simulated time (the offered load's time base).
      afterRound: () => {
        if (realTime) machine.advanceNs(Math.max(0, realNowNs() - simOffsetNs - machine.nowNs()));
        else machine.advanceUs(INLINE_STEP_US);
        clock.refresh();
      },
      nowNs: realNowNs,
    });
  } finally {
    for (const w of wires) closeWire(w);
  }
  summary.nf = nf.counters();
  return finish(def.name, options.model, summary, nf, machine.violations.length, ports.updateStatistics(), options.metrics, replies);
}

/**
 * Simulator threads for the two simulated ports of `tinynf run` and `tinynf bench`: 1, or 2 (a port per thread);
 * anything else is a TinyNfError naming `what` (the flag or option it came from).
 */
export function parseSimThreads(value: unknown, what = '--sim-threads'): 1 | 2 {
  if (value !== 1 && value !== 2) throw new TinyNfError(`${what} must be 1 or 2 (the simulated machine has 2 ports), got ${String(value)}`);
  return value;
}

/** The same on two in-memory NICs running in a worker thread: the NF sees real time, as on hardware. */
function runOnSimWorker(options: RunNfOptions, config: unknown, traffic: SimTraffic): RunNfResult {
  if (traffic.captures !== undefined) throw new TinyNfError('--capture is for inline simulated ports (not --sim-thread)');
  const sim = SimWorker.start({ ports: 2, threads: traffic.threads ?? 1 });
  let summary: RunSummary;
  let nf: NetworkFunction;
  let nic: NicCounters[] = [];
  let violations = 0;
  const replies: RepliesCounters[] = [];
  try {
    const env = new SimulatedEnvironment(sim);
    const ports = new DriverPorts(env, sim.addresses, options.model);
    const clock = new CoarseClock(env);
    nf = createNf(options.definition, config, { clock, ports: 2 });
    const { forwarders, handlers } = ports.attach(nf, { failFast: options.failFast });
    // the worker notices register writes a window at a time: let it see the queues enabled before traffic starts
    sim.sync();
    ports.updateStatistics(); // clear what the registers counted during initialisation (clear-on-read)
    for (let port = 0; port < 2; port++) {
      // a replies wire's two halves are made in the worker thread that runs the port, from these descriptions
      const inputDesc = inputFor(options.definition, config, port, traffic, sim.nowNs());
      // its counters are over a SharedArrayBuffer: the worker thread counts, this thread reads them at the end
      if (inputDesc.kind === 'replies') replies.push({ port, counters: inputDesc.counters! });
      sim.setInput(port, inputDesc);
      sim.addOutput(port, outputFor(inputDesc, port, traffic));
      if (traffic.pcaps !== undefined) sim.addOutput(port, pcapOutput(traffic.pcaps[port]));
    }
    summary = runLoop(nf, forwarders, handlers, { durationS: options.durationS, onProgress: withNic(ports, options), clock, nowNs: realNowNs });
    nic = ports.updateStatistics();
  } finally {
    violations = sim.stopSync().violations.length; // closes the wires; the worker thread exits
  }
  summary.nf = nf.counters();
  return finish(options.definition.name, options.model, summary, nf, violations, nic, options.metrics, replies);
}

function runOnHardware(options: RunNfOptions, config: unknown): RunNfResult {
  const addresses = options.pci!.map(parsePciAddress);
  if (addresses.length !== 2) throw new TinyNfError(`--pci takes two PCI addresses (LAN, WAN), got ${addresses.length}`);
  // VFIO when the ports are bound to vfio-pci (src/env/vfio.ts), else physical addresses from pagemap
  const hw = hardwareEnvironment(addresses);
  try {
    const env: Environment = hw.env;
    const ports = new DriverPorts(env, addresses, options.model);
    const clock = new CoarseClock(env);
    const nf = createNf(options.definition, config, { clock, ports: 2 });
    const { forwarders, handlers } = ports.attach(nf, { failFast: options.failFast });
    ports.updateStatistics(); // clear what the registers counted before the run (clear-on-read)
    const summary = runLoop(nf, forwarders, handlers, { durationS: options.durationS, onProgress: withNic(ports, options), clock, nowNs: realNowNs });
    return finish(options.definition.name, options.model, summary, nf, 0, ports.updateStatistics(), options.metrics);
  } finally {
    hw.close();
  }
}

function runOnVirtio(options: RunNfOptions, config: unknown): RunNfResult {
  const addresses = options.virtio!.map(parsePciAddress);
  if (addresses.length !== 2) throw new TinyNfError(`--virtio takes two PCI addresses (LAN, WAN), got ${addresses.length}`);
  if (options.model === 'compat') throw new TinyNfError('the compat model runs on the 82599 only: use --model restricted or flexible with --virtio');
  const hw = hardwareEnvironment(addresses); // VFIO when the ports are bound to vfio-pci
  try {
    const env = hw.env;
    const ports = new VirtioPorts(env, addresses, options.model as VirtioModel);
    const clock = new CoarseClock(env);
    const nf = createNf(options.definition, config, { clock, ports: 2 });
    const { forwarders, handlers } = ports.attach(nf, { failFast: options.failFast });
    const summary = runLoop(nf, forwarders, handlers, { durationS: options.durationS, onProgress: options.onProgress, clock, nowNs: realNowNs, stop: options.stop });
    // virtio-net has no statistics registers: no NIC counters
    return finish(options.definition.name, options.model, summary, nf, 0, [], options.metrics);
  } finally {
    hw.close();
  }
}

/** Progress with each port's NIC statistics, read (clear-on-read, accumulated) at each progress line. */
function withNic(ports: DriverPorts, options: RunNfOptions): ((p: Progress) => void) | undefined {
  const { onProgress, metrics } = options;
  if (onProgress === undefined && metrics === undefined) return undefined;
  return (p) => {
    const progress = { ...p, nic: ports.updateStatistics() };
    metrics?.publish(sampleOf(options, progress.seconds, progress, progress.nic, progress.nf));
    onProgress?.(progress);
  };
}

function sampleOf(options: RunNfOptions, seconds: number, t: Totals, nic: NicCounters[], counters: Record<string, number>): MetricsSample {
  return { nf: options.definition.name, model: options.model, seconds, ...totalsOf(t), nic, counters };
}

/** Frames the NICs dropped: missed for a full packet buffer (MPC) or for lack of a descriptor (QPRDC). */
function missedOf(nic: readonly NicCounters[]): number {
  return nic.reduce((n, c) => n + c.rxMissed + c.rxNoBufferDrops, 0);
}

/** A port whose input is a replies wire, and that wire's counters (REPLIES_COUNTER). */
interface RepliesCounters {
  port: number;
  counters: Float64Array;
}

function finish(name: string, model: DriverModel, summary: RunSummary, nf: NetworkFunction, violations: number, nic: NicCounters[], metrics?: MetricsServer, replies: RepliesCounters[] = []): RunNfResult {
  const nicMissed = missedOf(nic);
  metrics?.publish({ nf: name, model, seconds: summary.seconds, ...totalsOf(summary), nic, counters: summary.nf });
  return {
    summary,
    nf,
    violations,
    nicMissed,
    nic,
    json: {
      nf: name,
      model,
      seconds: round(summary.seconds, 3),
      rx_packets: summary.rxPackets,
      tx_packets: summary.txPackets,
      dropped_packets: summary.droppedPackets,
      handler_errors: summary.handlerErrors,
      nic_missed_packets: nicMissed,
      nic: nic.map((c, port) => ({ port, ...snakeCounters(c) })),
      // the simulated peers (replies wires): what they answered and what they could not (never uncounted)
      replies: replies.map(({ port, counters: c }) => ({
        port,
        answered: c[REPLIES_COUNTER.answered],
        delivered: c[REPLIES_COUNTER.delivered],
        unanswered: c[REPLIES_COUNTER.unanswered],
        overflowed: c[REPLIES_COUNTER.overflowed],
      })),
      mpps: round(summary.mpps, 3),
      ns_per_packet: round(summary.nsPerPacket, 1),
      violations,
      counters: summary.nf,
    },
  };
}

/**
 * What arrives on `port`: its TAP, its pcap replay (nothing if other ports replay and this one does not), the
 * replies to what it transmits (the NF's traffic hint says `replies`), or generated traffic.
 */
function inputFor(def: NfDefinition, config: unknown, port: number, t: SimTraffic, startNs: number): InputDescription {
  if (t.taps !== undefined) return { kind: 'tap', name: t.taps[port] };
  if (t.pcapIn !== undefined) {
    const file = t.pcapIn[port];
    return file === undefined ? { kind: 'none' } : { kind: 'pcap', path: file, timing: t.pcapTiming === 'captured' ? 'recorded' : 'fast', startNs };
  }
  const { replies, ...hint } = def.traffic?.(port, config) ?? {};
  // a name of its own per run: a wire left open by a run that failed is never this one's peer
  if (replies === true) {
    return { kind: 'replies', name: `run-nf-${++repliesWires}-port${port}`, counters: new Float64Array(new SharedArrayBuffer(REPLIES_COUNTERS * 8)) };
  }
  return { kind: 'generator', ...generatorFor(hint, port, t, startNs) };
}

let repliesWires = 0;

/** Where what `port` transmits goes: its TAP, the replies wire its input comes from, or a counter. */
function outputFor(input: InputDescription, port: number, t: SimTraffic): OutputDescription {
  if (t.taps !== undefined) return { kind: 'tap', name: t.taps[port] };
  if (input.kind === 'replies') return { kind: 'replies', name: input.name, counters: input.counters };
  return { kind: 'count' };
}

/**
 * Generated traffic for port 0 (LAN) and port 1 (WAN): IPv4/UDP flows; LAN flows vary the source address (clients),
 * WAN flows vary the destination address (what the policer keys on). The NF may choose other defaults
 * (NfDefinition.traffic, e.g. fewer flows so that a policer polices); the user's flags win over both.
 */
function generatorFor(hint: Omit<SimTrafficHint, 'replies'>, port: number, t: SimTraffic, startNs: number): GeneratorOptions {
  const rate = t.rate ?? hint.rate ?? 'line-rate';
  const frameSize = t.frameSize ?? hint.frameSize ?? 60;
  const flows = t.flows ?? hint.flows ?? 1000;
  if (!(Number.isInteger(flows) && flows >= 1)) throw new TinyNfError(`--flows must be a whole number >= 1, got ${flows}`);
  // the driver leaves jumbo frames off (HLREG0.JUMBOEN = 0, MAXFRS 1518 with the FCS: Sections 8.2.3.22.8 and
  // 8.2.3.22.13), so the NIC drops longer frames and counts them (RLEC, ROC): a longer size would offer nothing
  if (!(Number.isInteger(frameSize) && frameSize >= ETH_MIN_FRAME && frameSize <= ETH_MAX_FRAME)) {
    throw new TinyNfError(`--frame-size must be a whole number ${ETH_MIN_FRAME}..${ETH_MAX_FRAME} (the driver does not enable jumbo frames), got ${frameSize}`);
  }
  return {
    srcIp: port === 0 ? '10.0.0.1' : '10.1.0.1',
    dstIp: port === 0 ? '10.1.0.1' : '10.0.0.1',
    vary: port === 0 ? 'srcIp' : 'dstIp',
    ...hint,
    flows,
    rate,
    frameSize,
    ...(t.protocol !== undefined ? { protocol: t.protocol } : {}),
    ...(t.order !== undefined ? { order: t.order } : {}),
    seed: 1 + port,
    startNs,
  };
}

const realNowNs = (): number => performance.now() * 1e6;

/**
 * A capture of what a port transmits. Timestamps: the NIC's time (simulated time from 0 inline, real time since
 * the process started with a worker) shifted by the wall-clock second the capture starts, so readers show a date
 * near the run rather than 1970.
 */
function pcapOutput(path: string): OutputDescription {
  return { kind: 'pcap-out', path, epochSeconds: Math.floor(Date.now() / 1000) };
}

function round(v: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

function totalsOf(s: Totals): Totals {
  return { rxPackets: s.rxPackets, txPackets: s.txPackets, droppedPackets: s.droppedPackets, handlerErrors: s.handlerErrors };
}
