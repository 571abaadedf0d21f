// The NF test harness: an inline in-memory 82599 machine, the simulated environment, every port initialised by the
// real driver, and one forwarder per input port (restricted agent, flexible queues, or the DPDK-like shim).
// Tests send frames on ports, run until everything is drained, and look at what came out.
import { DeviceMemory } from '../env/device-memory';
import { SimulatedEnvironment } from '../env/simulated';
import { TinyNfError } from '../env/environment';
import type { DpdkShim } from '../compat/ethdev';
import type { Device } from '../ixgbe/device';
import type { FlexibleOptions } from '../ixgbe/flexible';
import type { Forwarder, ForwarderStats } from '../ixgbe/forwarder';
import type { PacketHandler } from '../ixgbe/handler';
import * as R from '../ixgbe/registers';
import { ETH_MIN_FRAME } from '../nf/lib/ethernet';
import type { NetworkFunction } from '../nf/network-function';
import { SimMachine } from '../sim/machine';
import { CollectingOutput, QueueInput } from '../sim/wire';
import { DriverModel, DriverPorts, HandlerFaultPolicy, parseDriverModel } from './driver-ports';

/** Time a frame of `length` bytes (without FCS) occupies a 10 Gb/s wire: FCS, padding to 64 B, 20 B preamble+gap. */
export function wireTimeNs(length: number): number {
  return (Math.max(length + 4, 64) + 20) * 0.8;
}

export type { DriverModel } from './driver-ports';

export interface TestbedOptions {
  /** Number of ports (default 2). */
  ports?: number;
  /** Driver model (default 'restricted'). */
  model?: DriverModel;
  /** Options of the flexible model. */
  flexible?: FlexibleOptions;
  /** Options passed to the SimMachine (ports is set from `ports`). */
  machine?: Record<string, unknown>;
  /**
   * Handler faults (a handler throws or returns a bad length): by default the packet is dropped, counted in
   * stats().forwarders[i].handlerErrors and the first fault per port printed to stderr. failFast: step()/run() throw a
   * HandlerFaultError instead; report: null silences the print (e.g. a test of faults), or give your own.
   */
  faults?: HandlerFaultPolicy;
}

export interface TestbedRunOptions {
  /** Simulated time per round (default 10 us). */
  stepUs?: number;
  /** Give up (throw) after this many rounds (default 200000). */
  maxRounds?: number;
  /** Called after every round (e.g. to check invariants). */
  afterRound?: () => void;
}

export interface TestbedStats {
  /** The simulated NICs' counters, per port. */
  readonly nics: ReturnType<Testbed['nicStats']>;
  /** One entry per input port with a forwarder (null for ports without one). */
  readonly forwarders: (ForwarderStats | null)[];
  /** The NF's own counters. */
  readonly nf: Record<string, number>;
}

export class Testbed {
  readonly machine: SimMachine;
  readonly env: SimulatedEnvironment;
  readonly model: DriverModel;
  readonly ports: number;
  /** The ports, initialised by the real driver: the same setup `tinynf run` uses (src/app/driver-ports.ts). */
  readonly driverPorts: DriverPorts;
  /** forwarders[i] receives on port i (null if the NF gives port i no outputs). */
  readonly forwarders: (Forwarder | null)[] = [];
  private handlers: (PacketHandler | null)[] = [];
  private nf: NetworkFunction | null = null;
  private readonly inputs: QueueInput[] = [];
  private readonly outputs: CollectingOutput[] = [];
  private readonly nextDueNs: number[] = [];
  private readonly faults: HandlerFaultPolicy;

  private constructor(options: TestbedOptions) {
    this.ports = options.ports ?? 2;
    this.model = options.model ?? 'restricted';
    this.machine = new SimMachine({ ...(options.machine ?? {}), ports: this.ports });
    this.env = new SimulatedEnvironment(this.machine);
    for (let i = 0; i < this.ports; i++) {
      const input = new QueueInput();
      const output = new CollectingOutput();
      this.machine.nic(i).attachInput(input);
      this.machine.nic(i).attachOutput(output);
      this.inputs.push(input);
      this.outputs.push(output);
      this.nextDueNs.push(0);
    }
    this.faults = options.faults ?? {};
    this.driverPorts = new DriverPorts(this.env, this.machine.addresses.slice(0, this.ports), this.model, options.flexible ?? {});
  }

  static create(options: TestbedOptions = {}): Testbed {
    parseDriverModel(String(options.model ?? 'restricted'));
    return new Testbed(options);
  }

  /** The initialised devices (restricted and flexible models; the compat shim initialises its own). */
  get devices(): Device[] {
    return this.driverPorts.devices;
  }

  /** The DPDK-like shim (compat model only). */
  get shim(): DpdkShim | null {
    return this.driverPorts.shim;
  }

  /** One forwarder per input port i, with outputs nf.outputPorts[i], running nf.handlers[i]. */
  attach(nf: NetworkFunction): void {
    if (this.nf !== null) throw new TinyNfError('Testbed.attach: an NF is already attached');
    const { forwarders, handlers } = this.driverPorts.attach(nf, this.faults);
    this.nf = nf;
    this.forwarders.push(...forwarders);
    this.handlers = handlers;
  }

  /**
   * Queue a frame (without FCS) on the wire of `port`. Frames sent back to back arrive as on a 10 Gb/s wire: each
   * one is due when the previous one has been serialised (FCS, padding to 64 B, preamble and gap included).
   * A frame shorter than the Ethernet minimum (60 bytes without FCS: an ARP request or a small UDP datagram as
   * built, 42 bytes) is zero-padded to 60, as the sending host's NIC pads it (IEEE 802.3; the pcap and TAP inputs do
   * the same); the receiving 82599 would drop it as a runt otherwise. `{ pad: false }` sends it as it is, a runt
   * (the NIC drops it and counts it in RUC: tests of the NIC's counters).
   */
  send(port: number, frame: Uint8Array, options: { pad?: boolean } = {}): void {
    this.checkPort(port);
    let data = frame;
    if (frame.length < ETH_MIN_FRAME && options.pad !== false) {
      data = new Uint8Array(ETH_MIN_FRAME);
      data.set(frame);
    }
    const due = Math.max(this.machine.nowNs(), this.nextDueNs[port]);
    this.inputs[port].push(data, due);
    this.nextDueNs[port] = due + wireTimeNs(data.length);
  }

  /** One round: let the NICs run for `stepUs`, then poll every forwarder once. Returns packets processed. */
  step(stepUs = 10): number {
    this.machine.advanceUs(stepUs);
    let processed = 0;
    for (let i = 0; i < this.forwarders.length; i++) {
      const f = this.forwarders[i];
      if (f !== null) processed += f.poll(this.handlers[i]!);
    }
    return processed;
  }

  /**
   * Run until every input is drained, every forwarder is idle and every transmit queue is empty (TDH == TDT),
   * for a few rounds in a row. Throws if that does not happen within maxRounds.
   */
  run(options: TestbedRunOptions = {}): void {
    const stepUs = options.stepUs ?? 10;
    const maxRounds = options.maxRounds ?? 200_000;
    let quietRounds = 0;
    let lastActivity = -1;
    for (let round = 0; round < maxRounds; round++) {
      const processed = this.step(stepUs);
      options.afterRound?.();
      const activity = this.activity();
      const quiet = processed === 0 && activity === lastActivity && this.inputsDrained() && this.transmitQueuesEmpty();
      lastActivity = activity;
      quietRounds = quiet ? quietRounds + 1 : 0;
      if (quietRounds >= 3) return;
    }
    throw new TinyNfError(`Testbed.run: traffic still flowing or stuck after ${maxRounds} rounds of ${stepUs} us`);
  }

  /** Frames that left `port` since the last call. */
  received(port: number): Uint8Array[] {
    this.checkPort(port);
    return this.outputs[port].take();
  }

  /** Move the simulated clock forward (NICs run meanwhile; forwarders are not polled). */
  advanceTimeNs(ns: number): void {
    this.machine.advanceNs(ns);
  }

  get violations(): SimMachine['violations'] {
    return this.machine.violations;
  }

  nicStats(): ReturnType<SimMachine['nic']>['stats'][] {
    const out: ReturnType<SimMachine['nic']>['stats'][] = [];
    for (let i = 0; i < this.ports; i++) out.push({ ...this.machine.nic(i).stats });
    return out;
  }

  stats(): TestbedStats {
    return {
      nics: this.nicStats(),
      forwarders: this.forwarders.map((f) => (f === null ? null : { ...f.stats, txPackets: [...f.stats.txPackets] })),
      nf: this.nf?.counters() ?? {},
    };
  }

  private checkPort(port: number): void {
    if (!Number.isInteger(port) || port < 0 || port >= this.ports) {
      throw new TinyNfError(`port ${port} does not exist (the testbed has ${this.ports})`);
    }
  }

  private inputsDrained(): boolean {
    return this.inputs.every((q) => q.pending === 0);
  }

  /** A number that changes whenever a NIC receives, misses or transmits something. */
  private activity(): number {
    let sum = 0;
    for (let i = 0; i < this.ports; i++) {
      const s = this.machine.nic(i).stats;
      sum += s.rxPackets + s.rxMissed + s.txPackets + s.txNullDescriptors;
    }
    return sum;
  }

  /** Every enabled transmit queue of every port has TDH == TDT (read from the register files). */
  private transmitQueuesEmpty(): boolean {
    for (let i = 0; i < this.ports; i++) {
      const bar0 = new DeviceMemory(this.machine.nic(i).bar0);
      for (let q = 0; q < R.TRANSMIT_QUEUES_COUNT; q++) {
        if ((bar0.read32(R.TXDCTL(q)) & R.TXDCTL_ENABLE) === 0) continue;
        if (bar0.read32(R.TDH(q)) !== bar0.read32(R.TDT(q))) return false;
      }
    }
    return true;
  }
}
