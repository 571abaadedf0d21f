// A subset of DPDK's ethdev API (rte_ethdev.h) over restricted TinyNF agents, so DPDK-style code runs on the
// TinyNF model. What the model cannot do is refused with a one-line TinyNfError:
//  - an mbuf must be transmitted or freed before the next rte_eth_rx_burst on its port (buffers are ring slots);
//  - one RX and one TX queue per port (queue 0); at most 4 ports (an agent has at most 4 outputs);
//  - no rte_pktmbuf_alloc: packets only come from the wire;
//  - one length per packet for all the ports it is sent to.
// Decisions may come in any order within a burst (tx_burst to different ports, frees): the shim completes packets
// in arrival order, as the agent requires, once every older packet of the port is decided.
// rte_eth_dev_start(p) builds port p's agent, with every port of the shim as an output (output k = port k), so
// receive starts at dev_start as in DPDK; transmitting to a port that is not started is refused.
import { Environment, PciAddress, TinyNfError } from '../env/environment';
import { Agent } from '../ixgbe/agent';
import { Device } from '../ixgbe/device';
import { MbufState, RteMbuf } from './mbuf';

/** rte_eth_conf, reduced: nothing is configurable. */
export interface RteEthConf {
  readonly rxmode?: { readonly mq_mode?: number };
}

/** rte_mempool, reduced to a name: mbufs belong to ring slots, the pool only exists for API compatibility. */
export interface RteMempool {
  readonly name: string;
}

/** rte_eth_stats, reduced. */
export interface RteEthStats {
  ipackets: number;
  opackets: number;
  /** Packets received and freed without being transmitted anywhere. */
  idropped: number;
}

interface Port {
  readonly device: Device;
  configured: boolean;
  rxQueueReady: boolean;
  txQueueReady: boolean;
  started: boolean;
  agent: Agent | null;
  mbufs: RteMbuf[];
  /** Slot of the oldest packet handed to the application and not yet completed. */
  oldest: number;
  /** Packets handed out and not yet completed. */
  outstanding: number;
}

export const MAX_PORTS = 4;

export class DpdkShim {
  private readonly ports: Port[];

  /** The initialised device of port `port` (for statistics; not a DPDK call). */
  device(port: number): Device {
    const p = this.ports[port];
    if (p === undefined) throw new TinyNfError(`port ${port} does not exist`);
    return p.device;
  }

  /** rte_eal_init, reduced: initialise the 82599 ports at `addresses` (port i = addresses[i]). */
  constructor(
    readonly env: Environment,
    addresses: readonly PciAddress[],
  ) {
    if (addresses.length < 1 || addresses.length > MAX_PORTS) {
      throw new TinyNfError(`the DPDK shim handles 1 to ${MAX_PORTS} ports, got ${addresses.length}`);
    }
    this.ports = addresses.map((a) => ({
      device: Device.init(env, a),
      configured: false,
      rxQueueReady: false,
      txQueueReady: false,
      started: false,
      agent: null,
      mbufs: [],
      oldest: 0,
      outstanding: 0,
    }));
  }

  rte_eth_dev_count_avail(): number {
    return this.ports.length;
  }

  rte_eth_dev_configure(portId: number, nbRxQueue: number, nbTxQueue: number, _conf: RteEthConf = {}): number {
    const port = this.port(portId, 'rte_eth_dev_configure');
    if (nbRxQueue !== 1 || nbTxQueue !== 1) {
      throw new TinyNfError(
        `rte_eth_dev_configure(port ${portId}): the TinyNF model has exactly 1 RX and 1 TX queue per port (got ${nbRxQueue} RX, ${nbTxQueue} TX)`,
      );
    }
    this.refuseWhileRunning('rte_eth_dev_configure', port);
    port.configured = true;
    return 0;
  }

  rte_pktmbuf_pool_create(name: string, _n: number, _cacheSize: number, _privSize: number, dataRoomSize: number, _socketId = 0): RteMempool {
    if (dataRoomSize > 2048) {
      throw new TinyNfError(`rte_pktmbuf_pool_create(${name}): buffers are 2048 bytes in the TinyNF model, ${dataRoomSize} asked`);
    }
    return { name };
  }

  rte_eth_rx_queue_setup(portId: number, queueId: number, _nbRxDesc: number, _socketId: number, _conf: unknown, _pool: RteMempool): number {
    const port = this.port(portId, 'rte_eth_rx_queue_setup');
    this.checkQueue(portId, queueId, port, 'rte_eth_rx_queue_setup');
    port.rxQueueReady = true;
    return 0;
  }

  rte_eth_tx_queue_setup(portId: number, queueId: number, _nbTxDesc: number, _socketId: number, _conf: unknown): number {
    const port = this.port(portId, 'rte_eth_tx_queue_setup');
    this.checkQueue(portId, queueId, port, 'rte_eth_tx_queue_setup');
    port.txQueueReady = true;
    return 0;
  }

  rte_eth_dev_start(portId: number): number {
    const port = this.port(portId, 'rte_eth_dev_start');
    if (port.started) throw new TinyNfError(`rte_eth_dev_start(port ${portId}): already started`);
    if (!port.rxQueueReady || !port.txQueueReady) {
      throw new TinyNfError(`rte_eth_dev_start(port ${portId}): set up its RX and TX queue 0 first`);
    }
    const outputs = this.ports.map((p) => p.device);
    const agent = new Agent(this.env, port.device, outputs);
    port.agent = agent;
    port.mbufs = agent.packets.map((buf, slot) => new RteMbuf(portId, slot, buf, agent.views[slot], outputs.length));
    port.started = true;
    return 0;
  }

  /** Promiscuous mode is always on (Device.init sets it). */
  rte_eth_promiscuous_enable(portId: number): number {
    this.port(portId, 'rte_eth_promiscuous_enable');
    return 0;
  }

  rte_eth_macaddr_get(portId: number): Uint8Array {
    return this.port(portId, 'rte_eth_macaddr_get').device.macAddress();
  }

  /** Receive up to `nbPkts` packets of port `portId` into `rxPkts`. */
  rte_eth_rx_burst(portId: number, queueId: number, rxPkts: RteMbuf[], nbPkts: number): number {
    const port = this.ports[portId];
    if (port === undefined || port.agent === null || queueId !== 0) {
      throw new TinyNfError(`rte_eth_rx_burst: port ${portId} queue ${queueId} is not a started port's queue 0`);
    }
    if (port.outstanding !== 0) {
      throw new TinyNfError(
        `rte_eth_rx_burst(port ${portId}): ${port.outstanding} mbuf(s) of the previous burst were neither transmitted nor freed; the TinyNF model cannot keep buffers past the next receive`,
      );
    }
    const agent = port.agent;
    let n = 0;
    while (n < nbPkts) {
      const slot = agent.receive();
      if (slot < 0) break;
      const m = port.mbufs[slot];
      m.data_len = m.pkt_len = agent.receivedLength(slot);
      m.refcnt = 1;
      m.state = MbufState.Received;
      rxPkts[n++] = m;
    }
    if (n !== 0) {
      port.oldest = rxPkts[0].slot;
      port.outstanding = n;
    }
    return n;
  }

  /** Transmit `nbPkts` mbufs on port `portId`; all are accepted (the shared ring never fills). */
  rte_eth_tx_burst(portId: number, queueId: number, txPkts: readonly RteMbuf[], nbPkts: number): number {
    const k = portId;
    if (this.ports[portId]?.started !== true || queueId !== 0) {
      throw new TinyNfError(`rte_eth_tx_burst: port ${portId} queue ${queueId} is not a started port's queue 0`);
    }
    for (let i = 0; i < nbPkts; i++) {
      const m = txPkts[i];
      this.release(m, 'rte_eth_tx_burst');
      m.outputs[k] = 1;
      if (--m.refcnt === 0) this.decide(m);
    }
    return nbPkts;
  }

  /** Drop the application's reference; the packet is dropped if no port was chosen for it. */
  rte_pktmbuf_free(m: RteMbuf): void {
    this.release(m, 'rte_pktmbuf_free');
    if (--m.refcnt === 0) this.decide(m);
  }

  /** Add references (e.g. before sending one packet to several ports, as DPDK applications do). */
  rte_mbuf_refcnt_update(m: RteMbuf, delta: number): number {
    this.release(m, 'rte_mbuf_refcnt_update');
    if (m.refcnt + delta < 1) {
      throw new TinyNfError(`rte_mbuf_refcnt_update: refcnt would drop to ${m.refcnt + delta}; use rte_pktmbuf_free`);
    }
    m.refcnt += delta;
    return m.refcnt;
  }

  rte_pktmbuf_alloc(pool: RteMempool): RteMbuf {
    throw new TinyNfError(`rte_pktmbuf_alloc(${pool.name}): the TinyNF model has no free buffers; packets only come from receive`);
  }

  rte_eth_stats_get(portId: number): RteEthStats {
    const port = this.port(portId, 'rte_eth_stats_get');
    let opackets = 0;
    for (const p of this.ports) if (p.agent !== null) opackets += p.agent.stats.txPackets[portId];
    return {
      ipackets: port.agent?.stats.rxPackets ?? 0,
      opackets,
      idropped: port.agent?.stats.droppedPackets ?? 0,
    };
  }

  /** The agent behind a started port (for statistics and tests). */
  agentOf(portId: number): Agent | null {
    return this.ports[portId]?.agent ?? null;
  }

  // ---------------- internals ----------------

  private port(portId: number, what: string): Port {
    const port = this.ports[portId];
    if (port === undefined) throw new TinyNfError(`${what}: no port ${portId} (${this.ports.length} ports)`);
    return port;
  }

  private checkQueue(portId: number, queueId: number, port: Port, what: string): void {
    if (!port.configured) throw new TinyNfError(`${what}(port ${portId}): call rte_eth_dev_configure first`);
    if (queueId !== 0) throw new TinyNfError(`${what}(port ${portId}): only queue 0 exists in the TinyNF model`);
    this.refuseWhileRunning(what, port);
  }

  private refuseWhileRunning(what: string, port: Port): void {
    if (port.started) throw new TinyNfError(`${what}: a started port cannot be reconfigured`);
  }

  private release(m: RteMbuf, what: string): void {
    if (m.state !== MbufState.Received || m.refcnt <= 0) {
      throw new TinyNfError(`${what}: mbuf (port ${m.port}) was already transmitted or freed`);
    }
  }

  /** Complete, in arrival order, every decided packet of the mbuf's port. */
  private decide(m: RteMbuf): void {
    m.state = MbufState.Decided;
    const port = this.ports[m.port];
    const agent = port.agent!;
    while (port.outstanding !== 0) {
      const oldest = port.mbufs[port.oldest];
      if (oldest.state !== MbufState.Decided) return;
      agent.transmit(oldest.data_len, oldest.outputs);
      oldest.state = MbufState.Idle;
      const next = port.oldest + 1; // not `% length`: an integer division per packet
      port.oldest = next === port.mbufs.length ? 0 : next;
      port.outstanding--;
    }
  }
}
