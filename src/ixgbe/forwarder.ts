// What both driver models (the restricted TinyNF agent and the flexible ixy-style queues) offer to whoever runs
// NF handlers on them: the testbed, the CLI, the benchmarks.
import { TinyNfError } from '../env/environment';
import type { PacketHandler } from './handler';
import type { HandlerFaults } from './handler-faults';

export interface ForwarderStats {
  /** Packets taken from the input queue. */
  rxPackets: number;
  /** Packets handed to each output (in the order the outputs were given). */
  readonly txPackets: number[];
  /** Packets the handler dropped (no output chosen, or an invalid length). */
  droppedPackets: number;
  /** Packets whose handler threw or returned a bad length (dropped, also in droppedPackets): see handler-faults.ts. */
  handlerErrors: number;
}

export interface Forwarder {
  /** Process the packets available now (up to a budget); flush transmit tails when the input is idle. Returns the count. */
  poll(handler: PacketHandler): number;
  readonly stats: ForwarderStats;
  /** Number of outputs (the length of the handler's `outputs` array). */
  readonly outputsCount: number;
  /** What happens when the handler throws or returns a bad length (the program sets it; default: drop and report once). */
  faults: HandlerFaults;
}

/** Options of the run loop (TinyNF's tn_net_run). */
export interface RunOptions {
  /** Checked after every round of polls; the loop returns once it is true. Without it the loop never returns. */
  until?: () => boolean;
  /** Called after every round of polls (e.g. to let an inline simulated NIC make progress). */
  afterRound?: () => void;
}

/** Poll every forwarder with its handler, round after round (TinyNF's tn_net_run). */
export function run(forwarders: readonly Forwarder[], handlers: readonly PacketHandler[], options: RunOptions = {}): void {
  if (forwarders.length !== handlers.length || forwarders.length === 0) {
    throw new TinyNfError(`run: ${forwarders.length} forwarders but ${handlers.length} handlers`);
  }
  const until = options.until;
  const afterRound = options.afterRound;
  for (;;) {
    for (let i = 0; i < forwarders.length; i++) forwarders[i].poll(handlers[i]);
    if (afterRound !== undefined) afterRound();
    if (until !== undefined && until()) return;
  }
}
