// Runs the NF packet handlers through the DPDK-style API (rx_burst, tx_burst, free), so the cost of a DPDK-like
// layer over the restricted model can be measured with the very same NFs.
import { TinyNfError } from '../env/environment';
import { POLL_BUDGET } from '../ixgbe/agent';
import type { Forwarder, ForwarderStats } from '../ixgbe/forwarder';
import type { PacketHandler } from '../ixgbe/handler';
import { HandlerFaults } from '../ixgbe/handler-faults';
import { DpdkShim } from './ethdev';
import { RteMbuf } from './mbuf';

export const DEFAULT_BURST = 32;

export class CompatForwarder implements Forwarder {
  readonly stats: ForwarderStats;
  readonly outputsCount: number;
  private readonly pkts: RteMbuf[];
  private readonly perOutput: RteMbuf[][];
  private readonly perOutputCount: Int32Array;
  private readonly outputs: Uint8Array;
  faults: HandlerFaults = new HandlerFaults();

  constructor(
    readonly shim: DpdkShim,
    readonly inputPort: number,
    readonly outputPorts: readonly number[],
    readonly burst: number = DEFAULT_BURST,
  ) {
    if (outputPorts.length < 1) throw new TinyNfError('a forwarder needs at least one output port');
    this.outputsCount = outputPorts.length;
    this.stats = { rxPackets: 0, txPackets: new Array<number>(outputPorts.length).fill(0), droppedPackets: 0, handlerErrors: 0 };
    this.pkts = new Array<RteMbuf>(burst);
    this.perOutput = outputPorts.map(() => new Array<RteMbuf>(burst));
    this.perOutputCount = new Int32Array(outputPorts.length);
    this.outputs = new Uint8Array(outputPorts.length);
  }

  /** Bursts until the input is idle or POLL_BUDGET packets were handled (as the other models' poll). */
  poll(handler: PacketHandler): number {
    let total = 0;
    while (total < POLL_BUDGET) {
      const n = this.pollBurst(handler);
      total += n;
      if (n < this.burst) break;
    }
    return total;
  }

  /** One rte_eth_rx_burst, the handler per packet, one rte_eth_tx_burst per output port. */
  pollBurst(handler: PacketHandler): number {
    const shim = this.shim;
    const n = shim.rte_eth_rx_burst(this.inputPort, 0, this.pkts, this.burst);
    const outputs = this.outputs;
    for (let i = 0; i < n; i++) {
      const m = this.pkts[i];
      let length: number;
      let fault: unknown = null;
      try {
        length = handler(m.buf, m.data, m.data_len, outputs);
        // an integer 0..buffer size (`>>> 0` turns anything else, NaN, fractions, negatives, non-numbers, into another value)
        if ((length >>> 0) !== length || length > m.buf.length) {
          fault = new TinyNfError(`returned length ${typeof length === 'number' ? length : `${typeof length} ${String(length)}`}, not an integer 0..${m.buf.length}`);
          length = 0;
        }
      } catch (e) {
        fault = e;
        length = 0;
      }
      let chosen = 0;
      if (length > 0) {
        m.data_len = m.pkt_len = length;
        for (let k = 0; k < this.outputsCount; k++) {
          if (outputs[k] !== 0) {
            this.perOutput[k][this.perOutputCount[k]++] = m;
            chosen++;
          }
        }
      }
      for (let k = 0; k < this.outputsCount; k++) outputs[k] = 0; // not outputs.fill(0): a builtin call per packet
      if (chosen === 0) {
        shim.rte_pktmbuf_free(m);
        this.stats.droppedPackets++;
      } else if (chosen > 1) {
        shim.rte_mbuf_refcnt_update(m, chosen - 1);
      }
      if (fault !== null) {
        if (this.faults.failFast) this.abandon(i + 1, n);
        this.faults.threw(this.stats, fault); // the packet was freed above; throws with failFast
      }
    }
    this.stats.rxPackets += n;
    for (let k = 0; k < this.outputsCount; k++) {
      const count = this.perOutputCount[k];
      if (count === 0) continue;
      this.stats.txPackets[k] += shim.rte_eth_tx_burst(this.outputPorts[k], 0, this.perOutput[k], count);
      this.perOutputCount[k] = 0;
    }
    return n;
  }

  /** Before a fail-fast stop: free the rest of the burst, so the shim is consistent. */
  private abandon(from: number, n: number): void {
    for (let i = from; i < n; i++) {
      this.shim.rte_pktmbuf_free(this.pkts[i]);
      this.stats.droppedPackets++;
    }
    this.stats.rxPackets += n;
    for (let k = 0; k < this.outputsCount; k++) {
      if (this.perOutputCount[k] !== 0) this.stats.txPackets[k] += this.shim.rte_eth_tx_burst(this.outputPorts[k], 0, this.perOutput[k], this.perOutputCount[k]);
      this.perOutputCount[k] = 0;
    }
  }
}
