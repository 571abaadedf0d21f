// Run an NF on virtio-net ports: initialise the devices, then one forwarder per input port i with outputs
// nf.outputPorts[i], running nf.handlers[i] — what src/forwarders.ts's Ports does for the 82599, for virtio.
import { PciAddress, PciBarEnvironment, TinyNfError } from '../env/environment';
import type { Forwarder } from '../ixgbe/forwarder';
import type { PacketHandler } from '../ixgbe/handler';
import { NetworkFunction, checkNfPorts } from '../nf/network-function';
import { HandlerFault, HandlerFaults, firstFaultReport } from '../ixgbe/handler-faults';
import { VirtioAgent } from './agent';
import { VirtioNetDevice } from './device';
import { VirtioFlexibleForwarder } from './flexible';

/** restricted: the TinyNF model (agent.ts); flexible: a buffer pool and batches (flexible.ts). */
export type VirtioModel = 'restricted' | 'flexible';
export const VIRTIO_MODELS: readonly VirtioModel[] = ['restricted', 'flexible'];

export class VirtioPorts {
  readonly devices: VirtioNetDevice[];

  constructor(
    readonly env: PciBarEnvironment,
    readonly addresses: readonly PciAddress[],
    readonly model: VirtioModel,
  ) {
    if (!VIRTIO_MODELS.includes(model)) throw new TinyNfError(`virtio ports run the restricted or flexible model, not '${model}'`);
    this.devices = addresses.map((a) => VirtioNetDevice.init(env, a));
  }

  /** Forwarders and handlers for `nf`: entry i receives on port i (null where the NF gives port i no outputs). */
  attach(nf: NetworkFunction, faults: { failFast?: boolean; report?: ((fault: HandlerFault) => void) | null } = {}): { forwarders: (Forwarder | null)[]; handlers: (PacketHandler | null)[] } {
    const ports = this.addresses.length;
    checkNfPorts(nf, ports);
    const reportOnce = firstFaultReport(faults.report);
    const forwarders: (Forwarder | null)[] = [];
    const handlers: (PacketHandler | null)[] = [];
    for (let i = 0; i < ports; i++) {
      const outs = nf.outputPorts[i] ?? [];
      const handler = nf.handlers[i];
      if (outs.length === 0 || handler === undefined) {
        forwarders.push(null);
        handlers.push(null);
        continue;
      }
      const input = this.devices[i];
      const outputs = outs.map((p) => this.devices[p]);
      const f = this.model === 'restricted' ? new VirtioAgent(this.env, input, outputs) : new VirtioFlexibleForwarder(this.env, input, outputs);
      f.faults = new HandlerFaults({ nf: nf.name, port: i, failFast: faults.failFast, report: reportOnce });
      forwarders.push(f);
      handlers.push(handler);
    }
    return { forwarders, handlers };
  }
}
