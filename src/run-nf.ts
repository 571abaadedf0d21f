// Run a network function on two ports — simulated (in-memory 82599s with generated traffic or TAP wires) or real
// 82599s — for a while, with live progress and a summary. Used by `tinynf run` and examples/policer.ts.
import { Environment, TinyNfError, parsePciAddress } from './env/environment';
import { hardwareEnvironment } from './env/vfio';
import { SimulatedEnvironment } from './env/simulated';
import { DriverModel, Ports } from './forwarders';
import { NfDefinition } from './nf';
import { CoarseClock } from './nf/lib/coarse-clock';
import type { NetworkFunction } from './nf/network-function';
import { Progress, RunSummary, runFor } from './runner';
import { SimMachine } from './sim/machine';
import { VirtioPorts, VirtioModel } from './virtio/ports';
import { SimWorker } from './sim/worker';
import { GeneratorOptions } from './sim/wires/generator';
import { OutputDescription, closeWire, createInput, createOutput } from './sim/wires/describe';
import type { WireInput, WireOutput } from './sim/wire';

export interface SimTraffic {
  /** Flows per port (generated traffic). */
  flows: number;
  /** Offered load per port: Mpps or 'line-rate' (14.88 Mpps of 64-byte frames). */
  rate: number | 'line-rate';
  /** Frame size without FCS. */
  frameSize: number;
  /** Use these TAP devices as the wires of port 0 and 1 instead of generated traffic. */
  taps?: [string, string];
  /** Run the NICs in a worker thread, in real time (SimWorker), instead of inline between rounds of polls. */
  thread?: boolean;
  /** Also write the frames port 0 and port 1 transmit to these pcap files (tcpdump -r reads them). */
  pcaps?: [string, string];
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
  sim?: SimTraffic;
  onProgress?: (p: Progress) => void;
  /** Stop early when this returns true (checked about every millisecond). */
  stop?: () => boolean;
}

export interface RunNfResult {
  summary: RunSummary;
  nf: NetworkFunction;
  /** Data-sheet violations the in-memory NICs reported (always 0 on hardware: nobody checks there). */
  violations: number;
  /** Frames the NICs dropped for lack of descriptors (simulated ports only). */
  nicMissed: number;
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

  const traffic = options.sim ?? { flows: 1000, rate: 'line-rate', frameSize: 60 };
  if (traffic.thread === true) return runOnSimWorker(options, config, traffic);
  const machine = new SimMachine({ ports: 2 });
  const env = new SimulatedEnvironment(machine);
  const ports = new Ports(env, machine.addresses, options.model);
  const clock = new CoarseClock(env);
  const nf = def.create(config, { clock, ports: 2 });
  const { forwarders, handlers } = ports.attach(nf);
  // Wires are attached after initialisation: a generator attached before would offer its first frames while
  // receive is still disabled, and they would all be missed.
  const wires: (WireInput | WireOutput)[] = [];
  for (let port = 0; port < 2; port++) {
    const input =
      traffic.taps !== undefined
        ? createInput({ kind: 'tap', name: traffic.taps[port] })
        : createInput({ kind: 'generator', ...generatorFor(def.name, port, traffic, machine.nowNs()) });
    const output = traffic.taps !== undefined ? createOutput({ kind: 'tap', name: traffic.taps[port] }) : createOutput({ kind: 'count' });
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
    summary = runFor(nf, forwarders, handlers, {
      durationS: options.durationS,
      onProgress: options.onProgress,
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
  const totals = machine.totals();
  return finish(def.name, options.model, summary, nf, machine.violations.length, totals.rxMissed);
}

/** The same on two in-memory NICs running in a worker thread: the NF sees real time, as on hardware. */
function runOnSimWorker(options: RunNfOptions, config: unknown, traffic: SimTraffic): RunNfResult {
  const sim = SimWorker.start({ ports: 2 });
  let summary: RunSummary;
  let nf: NetworkFunction;
  const missed = [0, 0];
  let violations = 0;
  try {
    const env = new SimulatedEnvironment(sim);
    const ports = new Ports(env, sim.addresses, options.model);
    const clock = new CoarseClock(env);
    nf = options.definition.create(config, { clock, ports: 2 });
    const { forwarders, handlers } = ports.attach(nf);
    // the worker notices register writes a window at a time: let it see the queues enabled before traffic starts
    sim.sync();
    for (let port = 0; port < 2; port++) {
      const tap = traffic.taps?.[port];
      sim.setInput(port, tap !== undefined ? { kind: 'tap', name: tap } : { kind: 'generator', ...generatorFor(options.definition.name, port, traffic, sim.nowNs()) });
      sim.addOutput(port, tap !== undefined ? { kind: 'tap', name: tap } : { kind: 'count' });
      if (traffic.pcaps !== undefined) sim.addOutput(port, pcapOutput(traffic.pcaps[port]));
    }
    summary = runFor(nf, forwarders, handlers, { durationS: options.durationS, onProgress: options.onProgress, clock, nowNs: realNowNs });
    for (let port = 0; port < 2; port++) missed[port] = sim.stats(port).rxMissed;
  } finally {
    violations = sim.stopSync().violations.length; // closes the wires; the worker thread exits
  }
  summary.nf = nf.counters();
  return finish(options.definition.name, options.model, summary, nf, violations, missed[0] + missed[1]);
}

function runOnHardware(options: RunNfOptions, config: unknown): RunNfResult {
  const addresses = options.pci!.map(parsePciAddress);
  if (addresses.length !== 2) throw new TinyNfError(`--pci takes two PCI addresses (LAN, WAN), got ${addresses.length}`);
  // VFIO when the ports are bound to vfio-pci (src/env/vfio.ts), else physical addresses
  const hw = hardwareEnvironment(addresses);
  try {
    const env: Environment = hw.env;
    const ports = new Ports(env, addresses, options.model);
    const clock = new CoarseClock(env);
    const nf = options.definition.create(config, { clock, ports: 2 });
    const { forwarders, handlers } = ports.attach(nf);
    const summary = runFor(nf, forwarders, handlers, { durationS: options.durationS, onProgress: options.onProgress, clock, nowNs: realNowNs });
    return finish(options.definition.name, options.model, summary, nf, 0, 0);
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
    const nf = options.definition.create(config, { clock, ports: 2 });
    const { forwarders, handlers } = ports.attach(nf);
    const summary = runFor(nf, forwarders, handlers, { durationS: options.durationS, onProgress: options.onProgress, clock, nowNs: realNowNs, stop: options.stop });
    return finish(options.definition.name, options.model, summary, nf, 0, 0);
  } finally {
    hw.close();
  }
}

function finish(name: string, model: DriverModel, summary: RunSummary, nf: NetworkFunction, violations: number, nicMissed: number): RunNfResult {
  return {
    summary,
    nf,
    violations,
    nicMissed,
    json: {
      nf: name,
      model,
      seconds: round(summary.seconds, 3),
      rx_packets: summary.rxPackets,
      tx_packets: summary.txPackets,
      dropped_packets: summary.droppedPackets,
      nic_missed_packets: nicMissed,
      mpps: round(summary.mpps, 3),
      ns_per_packet: round(summary.nsPerPacket, 1),
      violations,
      counters: summary.nf,
    },
  };
}

/**
 * Generated traffic for port 0 (LAN) and port 1 (WAN): IPv4/UDP flows; LAN flows vary the source address (clients),
 * WAN flows vary the destination address (what the policer keys on).
 */
function generatorFor(nf: string, port: number, t: SimTraffic, startNs: number): GeneratorOptions {
  void nf;
  return {
    flows: t.flows,
    rate: t.rate,
    frameSize: t.frameSize,
    seed: 1 + port,
    startNs,
    srcIp: port === 0 ? '10.0.0.1' : '10.1.0.1',
    dstIp: port === 0 ? '10.1.0.1' : '10.0.0.1',
    vary: port === 0 ? 'srcIp' : 'dstIp',
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
