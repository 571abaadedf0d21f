// The API NF authors write against (TinyNF's tn_net_packet_handler, in TypeScript).

/**
 * Handle one received packet, in place.
 * - `packet` is a pre-made view over the packet's whole buffer (2048 bytes in the restricted model), so a
 *   handler may grow the packet (e.g. encapsulate) up to packet.length bytes; `data` is a DataView over the
 *   same bytes. Neither is allocated per packet: they belong to the buffer slot and are reused.
 * - `length` is the received length (FCS stripped).
 * - `outputs` has one entry per output of the agent (in the order the outputs were added); it arrives
 *   zero-filled and the handler sets outputs[k] = 1 to transmit on output k. All zero = drop.
 * Returns the length to transmit (the same on every chosen output).
 * A handler must not keep `packet`/`data` past its return: the buffer belongs to the NIC again.
 */
export type PacketHandler = (packet: Uint8Array, data: DataView, length: number, outputs: Uint8Array) => number;

/** Where handlers read time from; programs give NFs a coarse clock refreshed once per poll round. */
export interface Clock {
  nowNs(): number;
}
