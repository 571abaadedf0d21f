// Handler factory for agents running on worker threads (src/ixgbe/workers.ts): each worker builds its own
// instance of the NF and takes the handler of the port its agent receives on. An NF whose state is per direction
// (the policer: only WAN -> LAN has state) is then exactly the NF of a single thread.
import type { PacketHandler } from '../src/ixgbe/handler';
import { nfDefinition } from '../src/nf';
import { CoarseClock } from '../src/nf/lib/coarse-clock';

export interface WorkerHandlerArgs {
  nf: string;
  config: unknown;
  /** The port the agent receives on (the NF's handlers[port]). */
  port: number;
}

/** The worker's loop has no clock of its own: the NF's coarse clock is refreshed every this many packets. */
const CLOCK_REFRESH_PACKETS = 32;

export function nfHandler(args: WorkerHandlerArgs, _agentIndex: number): PacketHandler {
  const def = nfDefinition(args.nf);
  const config = def.parseConfig(args.config);
  const clock = new CoarseClock({ nowNs: () => performance.now() * 1e6 });
  const nf = def.create(config, { clock, ports: 2 });
  const inner = nf.handlers[args.port];
  let countdown = CLOCK_REFRESH_PACKETS;
  return (packet, data, length, outputs) => {
    if (--countdown === 0) {
      countdown = CLOCK_REFRESH_PACKETS;
      clock.refresh();
    }
    return inner(packet, data, length, outputs);
  };
}

/** For one worker running both agents of a two-port NF: agent i receives on port i. */
export function nfHandlerByIndex(args: Omit<WorkerHandlerArgs, 'port'>, agentIndex: number): PacketHandler {
  return nfHandler({ ...args, port: agentIndex }, agentIndex);
}
