// A DPDK-like packet buffer (struct rte_mbuf, reduced) over one slot of a restricted TinyNF agent.
// One RteMbuf exists per ring slot, made once at setup; rte_eth_rx_burst hands them out, rte_eth_tx_burst and
// rte_pktmbuf_free give them back.

/** Where an mbuf is in its life. */
export const enum MbufState {
  /** The slot belongs to the NIC / the agent. */
  Idle = 0,
  /** Returned by rte_eth_rx_burst; the application owns it (refcnt > 0). */
  Received = 1,
  /** Every reference was transmitted or freed; waiting for older packets of the same port to be decided too. */
  Decided = 2,
}

export class RteMbuf {
  /** Packet data: the whole buffer (data_off is always 0, there is no headroom). */
  readonly buf: Uint8Array;
  /** The same bytes as a DataView (rte_pktmbuf_mtod as a DataView). */
  readonly data: DataView;
  /** Length of the data in this (single) segment; set it to change the transmitted length. */
  data_len = 0;
  /** Total packet length (= data_len: one segment only). */
  pkt_len = 0;
  /** Input port the packet was received on. */
  readonly port: number;
  /** References held by the application (rte_mbuf_refcnt_update adds some). */
  refcnt = 0;
  state: MbufState = MbufState.Idle;
  /** One entry per output of the agent: 1 = transmit there. Filled by tx_burst, consumed in order. */
  readonly outputs: Uint8Array;

  constructor(port: number, readonly slot: number, buf: Uint8Array, data: DataView, outputsCount: number) {
    this.port = port;
    this.buf = buf;
    this.data = data;
    this.outputs = new Uint8Array(outputsCount);
  }
}

/** rte_pktmbuf_mtod: the packet bytes. */
export function rte_pktmbuf_mtod(m: RteMbuf): Uint8Array {
  return m.buf;
}

/** rte_pktmbuf_data_len */
export function rte_pktmbuf_data_len(m: RteMbuf): number {
  return m.data_len;
}
