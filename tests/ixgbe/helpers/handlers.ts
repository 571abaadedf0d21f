// Handler factories for agents running in worker threads (AgentWorker builds handlers inside the worker).
import type { PacketHandler } from '../../../src/ixgbe/handler';

/** Swap the MAC addresses and send on output 0. */
export function swapMacs(): PacketHandler {
  return (packet, _data, length, outputs) => {
    for (let i = 0; i < 6; i++) {
      const t = packet[i];
      packet[i] = packet[6 + i];
      packet[6 + i] = t;
    }
    outputs[0] = 1;
    return length;
  };
}

/** Drop packets whose sequence number (bytes 14..17) is a multiple of args.dropEvery, send the others. */
export function dropEvery(args: { dropEvery: number }): PacketHandler {
  return (_packet, data, length, outputs) => {
    outputs[0] = data.getUint32(14) % args.dropEvery === 0 ? 0 : 1;
    return length;
  };
}
