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

/**
 * Refuse an NF that wants more ports than `ports`, sends to a port that is not set up, or whose handlers do not
 * match its output ports (one line each). A port with neither outputs nor a handler is not served (its frames are
 * counted as missed by the NIC); a port with one but not the other is a mistake in the NF, refused here rather than
 * left unserved without a word.
 */
export function checkNfPorts(nf: NetworkFunction, ports: number): void {
  if (!Array.isArray(nf.outputPorts) || !Array.isArray(nf.handlers)) {
    throw new TinyNfError(`NF ${nf.name}: outputPorts and handlers must be arrays (one entry per input port)`);
  }
  if (nf.outputPorts.length > ports || nf.handlers.length > ports) {
    throw new TinyNfError(`NF ${nf.name} wants ${Math.max(nf.outputPorts.length, nf.handlers.length)} ports, ${ports} are set up`);
  }
  for (let i = 0; i < ports; i++) {
    const outs = nf.outputPorts[i] ?? [];
    const handler: unknown = nf.handlers[i];
    if (handler !== undefined && typeof handler !== 'function') {
      throw new TinyNfError(`NF ${nf.name}: handlers[${i}] is ${handler === null ? 'null' : typeof handler}, not a packet handler function`);
    }
    if (!Array.isArray(outs)) throw new TinyNfError(`NF ${nf.name}: outputPorts[${i}] must be an array of ports`);
    if (outs.length > 0 && handler === undefined) {
      throw new TinyNfError(`NF ${nf.name}: port ${i} has output ports [${outs.join(', ')}] but no handler (handlers has ${nf.handlers.length})`);
    }
    if (outs.length === 0 && handler !== undefined) {
      throw new TinyNfError(`NF ${nf.name}: port ${i} has a handler but no output ports (outputPorts[${i}] is empty), so it would never run`);
    }
    for (const p of outs) {
      if (!Number.isInteger(p) || p < 0 || p >= ports) throw new TinyNfError(`NF ${nf.name} sends to port ${p}, ${ports} are set up`);
    }
  }
}

/**
 * definition.create(config, ctx), with a user's NF that throws while it is built reported in one line (the NF's name
 * and the error, and where it was thrown) instead of a stack trace; a TinyNfError passes as it is.
 */
export function createNf<C>(definition: { readonly name: string; create(config: C, ctx: NfContext): NetworkFunction }, config: C, ctx: NfContext): NetworkFunction {
  let nf: NetworkFunction;
  try {
    nf = definition.create(config, ctx);
  } catch (e) {
    if (e instanceof TinyNfError) throw e;
    const err = e instanceof Error ? e : new Error(String(e));
    const at = /\n\s+at (.*)/.exec(err.stack ?? '')?.[1];
    throw new TinyNfError(`NF ${definition.name}: create() threw ${err.name}: ${err.message}${at !== undefined ? ` (at ${at})` : ''}`);
  }
  if (nf === null || typeof nf !== 'object') throw new TinyNfError(`NF ${definition.name}: create() returned ${nf === null ? 'null' : typeof nf}, not a NetworkFunction`);
  return nf;
}
