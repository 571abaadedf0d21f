// Run a network function on two ports — simulated (in-memory 82599s with generated traffic or TAP wires) or real
// 82599s — for a while, with live progress and a summary. Used by `tinynf run` and examples/policer.ts.
import { Environment, TinyNfError, parsePciAddress } from './env/environment';
import { LinuxEnvironment } from './env/linux';
import { SimulatedEnvironment } from './env/simulated';
import { DriverModel, Ports } from './forwarders';
import { NfDefinition } from './nf';
import { CoarseClock } from './nf/lib/coarse-clock';
import type { NetworkFunction } from './nf/network-function';
import { Progress, RunSummary, runFor } from './runner';
import { SimMachine } from './sim/machine';
import { GeneratorOptions } from './sim/wires/generator';
import { closeWire, createInput, createOutput } from './sim/wires/describe';
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
}

export interface RunNfOptions {
  definition: NfDefinition;
  config: unknown;
  model: DriverModel;
  durationS: number;
  /** Real 82599 ports (two PCI addresses), or undefined for simulated ones. */
  pci?: string[];
  sim?: SimTraffic;
  onProgress?: (p: Progress) => void;
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

  const traffic = options.sim ?? { flows: 1000, rate: 'line-rate', frameSize: 60 };
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
  }
  let summary: RunSummary;
  try {
    summary = runFor(nf, forwarders, handlers, {
      durationS: options.durationS,
      onProgress: options.onProgress,
      // The NICs run inline, between rounds of polls; the NF sees simulated time (the offered load's time base).
      afterRound: () => {
        machine.advanceUs(INLINE_STEP_US);
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

function runOnHardware(options: RunNfOptions, config: unknown): RunNfResult {
  const addresses = options.pci!.map(parsePciAddress);
  if (addresses.length !== 2) throw new TinyNfError(`--pci takes two PCI addresses (LAN, WAN), got ${addresses.length}`);
  const env: Environment = new LinuxEnvironment();
  const ports = new Ports(env, addresses, options.model);
  const clock = new CoarseClock(env);
  const nf = options.definition.create(config, { clock, ports: 2 });
  const { forwarders, handlers } = ports.attach(nf);
  const summary = runFor(nf, forwarders, handlers, { durationS: options.durationS, onProgress: options.onProgress, clock, nowNs: realNowNs });
  return finish(options.definition.name, options.model, summary, nf, 0, 0);
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

function round(v: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}
