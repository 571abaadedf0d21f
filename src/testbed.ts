// The NF test harness: an inline in-memory 82599 machine, the simulated environment, every port initialised by the
// real driver, and one forwarder per input port (restricted agent, flexible queues, or the DPDK-like shim).
// Tests send frames on ports, run until everything is drained, and look at what came out.
import { DeviceMemory } from './env/device-memory';
import { SimulatedEnvironment } from './env/simulated';
import { TinyNfError } from './env/environment';
import { CompatForwarder } from './compat/forwarder';
import { DpdkShim } from './compat/ethdev';
import { Agent } from './ixgbe/agent';
import { Device } from './ixgbe/device';
import { FlexibleForwarder, FlexibleOptions } from './ixgbe/flexible';
import type { Forwarder, ForwarderStats } from './ixgbe/forwarder';
import type { PacketHandler } from './ixgbe/handler';
import * as R from './ixgbe/registers';
import type { NetworkFunction } from './nf/network-function';
import { SimMachine } from './sim/machine';
import { CollectingOutput, QueueInput } from './sim/wire';

/** Time a frame of `length` bytes (without FCS) occupies a 10 Gb/s wire: FCS, padding to 64 B, 20 B preamble+gap. */
export function wireTimeNs(length: number): number {
  return (Math.max(length + 4, 64) + 20) * 0.8;
}

export type DriverModel = 'restricted' | 'flexible' | 'compat';

export interface TestbedOptions {
  /** Number of ports (default 2). */
  ports?: number;
  /** Driver model (default 'restricted'). */
  model?: DriverModel;
  /** Options of the flexible model. */
  flexible?: FlexibleOptions;
  /** Options passed to the SimMachine (ports is set from `ports`). */
  machine?: Record<string, unknown>;
}

export interface RunOptions {
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
  /** The initialised devices (restricted and flexible models; the compat shim initialises its own). */
  readonly devices: Device[];
  /** The DPDK-like shim (compat model only). */
  readonly shim: DpdkShim | null;
  /** forwarders[i] receives on port i (null if the NF gives port i no outputs). */
  readonly forwarders: (Forwarder | null)[] = [];
  private handlers: (PacketHandler | null)[] = [];
  private nf: NetworkFunction | null = null;
  private readonly inputs: QueueInput[] = [];
  private readonly outputs: CollectingOutput[] = [];
  private readonly flexibleOptions: FlexibleOptions;
  private readonly nextDueNs: number[] = [];

  private constructor(options: TestbedOptions) {
    this.ports = options.ports ?? 2;
    this.model = options.model ?? 'restricted';
    this.flexibleOptions = options.flexible ?? {};
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
    const addresses = this.machine.addresses.slice(0, this.ports);
    if (this.model === 'compat') {
      this.shim = new DpdkShim(this.env, addresses);
      this.devices = [];
    } else {
      this.shim = null;
      this.devices = addresses.map((a) => Device.init(this.env, a));
    }
  }

  static create(options: TestbedOptions = {}): Testbed {
    const model = options.model ?? 'restricted';
    if (model !== 'restricted' && model !== 'flexible' && model !== 'compat') {
      throw new TinyNfError(`unknown driver model '${String(model)}': restricted, flexible or compat`);
    }
    return new Testbed(options);
  }

  /** One forwarder per input port i, with outputs nf.outputPorts[i], running nf.handlers[i]. */
  attach(nf: NetworkFunction): void {
    if (this.nf !== null) throw new TinyNfError('Testbed.attach: an NF is already attached');
    if (nf.outputPorts.length > this.ports || nf.handlers.length > this.ports) {
      throw new TinyNfError(`Testbed.attach: NF ${nf.name} wants ${nf.outputPorts.length} ports, the testbed has ${this.ports}`);
    }
    for (const outs of nf.outputPorts) {
      for (const p of outs) {
        if (!Number.isInteger(p) || p < 0 || p >= this.ports) {
          throw new TinyNfError(`Testbed.attach: NF ${nf.name} sends to port ${p}, the testbed has ${this.ports}`);
        }
      }
    }
    this.nf = nf;
    if (this.shim !== null) this.startShim();
    for (let i = 0; i < this.ports; i++) {
      const outs = nf.outputPorts[i] ?? [];
      const handler = nf.handlers[i];
      if (outs.length === 0 || handler === undefined) {
        this.forwarders.push(null);
        this.handlers.push(null);
        continue;
      }
      this.forwarders.push(this.makeForwarder(i, outs));
      this.handlers.push(handler);
    }
  }

  private makeForwarder(input: number, outs: readonly number[]): Forwarder {
    switch (this.model) {
      case 'restricted':
        return new Agent(
          this.env,
          this.devices[input],
          outs.map((p) => this.devices[p]),
        );
      case 'flexible':
        return new FlexibleForwarder(
          this.env,
          this.devices[input],
          outs.map((p) => this.devices[p]),
          this.flexibleOptions,
        );
      case 'compat':
        return new CompatForwarder(this.shim!, input, outs);
    }
  }

  private startShim(): void {
    const shim = this.shim!;
    const pool = shim.rte_pktmbuf_pool_create('testbed', 8192, 256, 0, 2048);
    for (let p = 0; p < this.ports; p++) {
      shim.rte_eth_dev_configure(p, 1, 1);
      shim.rte_eth_rx_queue_setup(p, 0, 1024, 0, null, pool);
      shim.rte_eth_tx_queue_setup(p, 0, 1024, 0, null);
      shim.rte_eth_dev_start(p);
    }
  }

  /**
   * Queue a frame (without FCS) on the wire of `port`. Frames sent back to back arrive as on a 10 Gb/s wire: each
   * one is due when the previous one has been serialised (FCS, padding to 64 B, preamble and gap included).
   */
  send(port: number, frame: Uint8Array): void {
    this.checkPort(port);
    const due = Math.max(this.machine.nowNs(), this.nextDueNs[port]);
    this.inputs[port].push(frame, due);
    this.nextDueNs[port] = due + wireTimeNs(frame.length);
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
  run(options: RunOptions = {}): void {
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
