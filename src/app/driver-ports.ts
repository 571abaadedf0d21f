// Build the forwarders that run an NF on initialised ports, for any driver model: one forwarder per input port i,
// with outputs nf.outputPorts[i], running nf.handlers[i]. Used by the testbed, `tinynf run` and the benchmarks.
import { Environment, PciAddress, TinyNfError } from '../env/environment';
import { DpdkShim } from '../compat/ethdev';
import { CompatForwarder } from '../compat/forwarder';
import { Agent } from '../ixgbe/agent';
import { Device } from '../ixgbe/device';
import { FlexibleForwarder, FlexibleOptions } from '../ixgbe/flexible';
import type { Forwarder } from '../ixgbe/forwarder';
import type { PacketHandler } from '../ixgbe/handler';
import { NicCounters, NicStatistics } from '../ixgbe/statistics';
import { HandlerFault, HandlerFaults, firstFaultReport } from '../ixgbe/handler-faults';
import { NetworkFunction, checkNfPorts } from '../nf/network-function';

export type DriverModel = 'restricted' | 'flexible' | 'compat';
export const DRIVER_MODELS: readonly DriverModel[] = ['restricted', 'flexible', 'compat'];

export function parseDriverModel(text: string): DriverModel {
  if ((DRIVER_MODELS as readonly string[]).includes(text)) return text as DriverModel;
  throw new TinyNfError(`unknown driver model '${text}': use restricted, flexible or compat`);
}

/** What the forwarders attach() makes do when a handler throws or returns a bad length (src/ixgbe/handler-faults.ts). */
export interface HandlerFaultPolicy {
  /** Stop at the first fault (a HandlerFaultError) instead of dropping the packet and going on. Default false. */
  failFast?: boolean;
  /** Called once, at the NF's first fault (whichever port); default: print it to stderr; null: silent. */
  report?: ((fault: HandlerFault) => void) | null;
}

/** Initialised ports of one driver model. */
export class DriverPorts {
  /** Devices (restricted and flexible models; the compat shim initialises its own). */
  readonly devices: Device[];
  readonly shim: DpdkShim | null;
  /** Each port's NIC statistics registers (Section 8.2.3.23), accumulated by update(). */
  readonly statistics: NicStatistics[];

  constructor(
    readonly env: Environment,
    readonly addresses: readonly PciAddress[],
    readonly model: DriverModel,
    readonly flexible: FlexibleOptions = {},
  ) {
    if (model === 'compat') {
      this.shim = new DpdkShim(env, addresses);
      this.devices = [];
    } else {
      this.shim = null;
      this.devices = addresses.map((a) => Device.init(env, a));
    }
    this.statistics = addresses.map((a, i) => {
      const device = this.shim !== null ? this.shim.device(i) : this.devices[i];
      return new NicStatistics(env, a, device.bar0);
    });
  }

  /**
   * Forwarders and handlers for `nf`: entry i receives on port i (null where the NF gives port i no outputs).
   */
  attach(nf: NetworkFunction, faults: HandlerFaultPolicy = {}): { forwarders: (Forwarder | null)[]; handlers: (PacketHandler | null)[] } {
    const ports = this.addresses.length;
    checkNfPorts(nf, ports);
    if (this.shim !== null) this.startShim();
    const reportOnce = firstFaultReport(faults.report);
    const forwarders: (Forwarder | null)[] = [];
    const handlers: (PacketHandler | null)[] = [];
    for (let i = 0; i < ports; i++) {
      const outs = nf.outputPorts[i] ?? [];
      const handler = nf.handlers[i];
      if (outs.length === 0 || handler === undefined) {
        forwarders.push(null);
        handlers.push(null);
      } else {
        const f = this.forwarder(i, outs);
        f.faults = new HandlerFaults({ nf: nf.name, port: i, failFast: faults.failFast, report: reportOnce });
        forwarders.push(f);
        handlers.push(handler);
      }
    }
    return { forwarders, handlers };
  }

  /** Read every port's statistics registers (clear-on-read) and return the accumulated totals, per port. */
  updateStatistics(): NicCounters[] {
    return this.statistics.map((s) => ({ ...s.update() }));
  }

  private forwarder(input: number, outs: readonly number[]): Forwarder {
    switch (this.model) {
      case 'restricted':
        return new Agent(this.env, this.devices[input], outs.map((p) => this.devices[p]));
      case 'flexible':
        return new FlexibleForwarder(this.env, this.devices[input], outs.map((p) => this.devices[p]), this.flexible);
      case 'compat':
        return new CompatForwarder(this.shim!, input, outs);
    }
  }

  private startShim(): void {
    const shim = this.shim!;
    const pool = shim.rte_pktmbuf_pool_create('tinynf', 8192, 256, 0, 2048);
    for (let p = 0; p < this.addresses.length; p++) {
      shim.rte_eth_dev_configure(p, 1, 1);
      shim.rte_eth_rx_queue_setup(p, 0, 1024, 0, null, pool);
      shim.rte_eth_tx_queue_setup(p, 0, 1024, 0, null);
      shim.rte_eth_dev_start(p);
    }
  }
}
