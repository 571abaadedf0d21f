// DPDK-style free functions over one process-wide DpdkShim (DPDK's EAL is process-wide too).
// rte_eal_init(env, addresses) creates it; every other function uses it. Code that wants several independent
// shims (tests) can use the DpdkShim class directly.
import { Environment, PciAddress, TinyNfError } from '../env/environment';
import { DpdkShim, RteEthConf, RteEthStats, RteMempool } from './ethdev';
import { RteMbuf } from './mbuf';

export { DpdkShim, MAX_PORTS } from './ethdev';
export type { RteEthConf, RteEthStats, RteMempool } from './ethdev';
export { RteMbuf, rte_pktmbuf_data_len, rte_pktmbuf_mtod } from './mbuf';
export { CompatForwarder } from './forwarder';

let current: DpdkShim | null = null;

function eal(): DpdkShim {
  if (current === null) throw new TinyNfError('call rte_eal_init first');
  return current;
}

/** Initialise the ports at `addresses` (port i = addresses[i]); returns the number of ports. */
export function rte_eal_init(env: Environment, addresses: readonly PciAddress[]): number {
  current = new DpdkShim(env, addresses);
  return addresses.length;
}

/** Forget the shim (the devices stay as they are). */
export function rte_eal_cleanup(): number {
  current = null;
  return 0;
}

export function rte_eal_shim(): DpdkShim {
  return eal();
}

export const rte_eth_dev_count_avail = (): number => eal().rte_eth_dev_count_avail();
export const rte_eth_dev_configure = (port: number, rxq: number, txq: number, conf?: RteEthConf): number =>
  eal().rte_eth_dev_configure(port, rxq, txq, conf);
export const rte_pktmbuf_pool_create = (name: string, n: number, cache: number, priv: number, dataRoom: number, socket = 0): RteMempool =>
  eal().rte_pktmbuf_pool_create(name, n, cache, priv, dataRoom, socket);
export const rte_eth_rx_queue_setup = (port: number, q: number, desc: number, socket: number, conf: unknown, pool: RteMempool): number =>
  eal().rte_eth_rx_queue_setup(port, q, desc, socket, conf, pool);
export const rte_eth_tx_queue_setup = (port: number, q: number, desc: number, socket: number, conf: unknown): number =>
  eal().rte_eth_tx_queue_setup(port, q, desc, socket, conf);
export const rte_eth_dev_start = (port: number): number => eal().rte_eth_dev_start(port);
export const rte_eth_promiscuous_enable = (port: number): number => eal().rte_eth_promiscuous_enable(port);
export const rte_eth_macaddr_get = (port: number): Uint8Array => eal().rte_eth_macaddr_get(port);
export const rte_eth_rx_burst = (port: number, q: number, pkts: RteMbuf[], n: number): number => eal().rte_eth_rx_burst(port, q, pkts, n);
export const rte_eth_tx_burst = (port: number, q: number, pkts: readonly RteMbuf[], n: number): number =>
  eal().rte_eth_tx_burst(port, q, pkts, n);
export const rte_pktmbuf_free = (m: RteMbuf): void => eal().rte_pktmbuf_free(m);
export const rte_mbuf_refcnt_update = (m: RteMbuf, delta: number): number => eal().rte_mbuf_refcnt_update(m, delta);
export const rte_pktmbuf_alloc = (pool: RteMempool): RteMbuf => eal().rte_pktmbuf_alloc(pool);
export const rte_eth_stats_get = (port: number): RteEthStats => eal().rte_eth_stats_get(port);
