// What every network function in src/nf provides, whatever driver model runs it.
import { TinyNfError } from '../env/environment';
import type { Clock, PacketHandler } from '../ixgbe/handler';

export interface NetworkFunction {
  readonly name: string;
  /**
   * outputPorts[i] lists the ports packets received on port i may be sent to, in the order of the
   * handler's `outputs` array (e.g. two ports: [[1], [0]]; a hairpin would list i itself).
   */
  readonly outputPorts: readonly (readonly number[])[];
  /** handlers[i] handles packets received on port i. */
  readonly handlers: readonly PacketHandler[];
  /** NF-specific counters (e.g. policed, table_full, malformed, port_exhausted). Every drop is counted somewhere. */
  counters(): Record<string, number>;
}

/** Arguments every NF factory receives. */
export interface NfContext {
  /** Read per packet at most; programs pass a CoarseClock (src/nf/lib/coarse-clock.ts) refreshed once per poll round. */
  readonly clock: Clock;
  /** Number of ports the NF is attached to (2 for LAN/WAN NFs; the bridge accepts more). */
  readonly ports: number;
}

/** Refuse an NF that wants more ports than `ports`, or sends to a port that is not set up (one line each). */
export function checkNfPorts(nf: NetworkFunction, ports: number): void {
  if (nf.outputPorts.length > ports || nf.handlers.length > ports) {
    throw new TinyNfError(`NF ${nf.name} wants ${nf.outputPorts.length} ports, ${ports} are set up`);
  }
  for (const outs of nf.outputPorts) {
    for (const p of outs) {
      if (!Number.isInteger(p) || p < 0 || p >= ports) throw new TinyNfError(`NF ${nf.name} sends to port ${p}, ${ports} are set up`);
    }
  }
}
