// `tinynf run --metrics [HOST:]PORT`: Prometheus text exposition (format 0.0.4) of the run's counters at
// http://HOST:PORT/metrics (HOST defaults to 127.0.0.1). The packet loop never returns to Node's event loop, so the
// HTTP server runs in a worker thread (metrics-worker.ts) and serves the latest snapshot the run loop published
// (at start, at every progress tick, i.e. each second, and at the end). No dependency: see docs/dependencies.md.
import * as path from 'path';
import { Worker } from 'worker_threads';
import { TinyNfError } from '../env/environment';
import type { NicCounters } from '../ixgbe/statistics';
import { NIC_COUNTER_NAMES } from '../ixgbe/statistics';
import { MetricsShared, STATUS_ERROR, STATUS_LISTENING, createShared, readStatus, waitStatus, writeSnapshot } from './metrics-shared';

/** Parse `[HOST:]PORT` (PORT 0 = any free port). */
export function parseMetricsAddress(text: string): { host: string; port: number } {
  const m = /^(?:(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):)?([0-9]{1,5})$/.exec(text);
  const port = m === null ? NaN : Number(m[2]);
  if (m === null || port > 65535) throw new TinyNfError(`--metrics takes [HOST:]PORT (e.g. 9100 or 0.0.0.0:9100), got '${text}'`);
  const host = m[1] === undefined ? '127.0.0.1' : m[1].replace(/^\[|\]$/g, '');
  return { host, port };
}

export interface MetricsSample {
  nf: string;
  model: string;
  seconds: number;
  rxPackets: number;
  txPackets: number;
  droppedPackets: number;
  handlerErrors: number;
  nic: readonly NicCounters[];
  counters: Record<string, number>;
}

const NIC_HELP: Record<keyof NicCounters, string> = {
  rxGoodPackets: 'Good packets received (GPRC)',
  txGoodPackets: 'Good packets transmitted (GPTC)',
  rxGoodOctets: 'Good octets received, FCS included (GORC)',
  txGoodOctets: 'Good octets transmitted, FCS included (GOTC)',
  rxMissed: 'Packets missed for a full receive packet buffer (MPC)',
  rxNoBufferDrops: 'Packets dropped for lack of a receive descriptor (QPRDC)',
  rxCrcErrors: 'Packets received with a CRC error (CRCERRS)',
  rxLengthErrors: 'Packets received with a length error (RLEC)',
  rxUndersize: 'Undersize packets received (RUC)',
  rxOversize: 'Oversize packets received (ROC)',
};

const snake = (k: string): string => k.replace(/[A-Z]/g, (c) => '_' + c.toLowerCase());
const label = (v: string): string => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

/** The exposition text of one sample. */
export function exposition(s: MetricsSample): string {
  const out: string[] = [];
  const nf = `nf="${label(s.nf)}",model="${label(s.model)}"`;
  const metric = (name: string, type: 'counter' | 'gauge', help: string, lines: string[]): void => {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, ...lines);
  };
  metric('tinynf_up_seconds', 'gauge', 'Seconds since the run loop started', [`tinynf_up_seconds{${nf}} ${s.seconds}`]);
  metric('tinynf_rx_packets_total', 'counter', 'Packets the driver took from the receive queues', [`tinynf_rx_packets_total{${nf}} ${s.rxPackets}`]);
  metric('tinynf_tx_packets_total', 'counter', 'Packets the driver handed to transmit queues', [`tinynf_tx_packets_total{${nf}} ${s.txPackets}`]);
  metric('tinynf_dropped_packets_total', 'counter', 'Packets the NF dropped (no output, bad length or a fault)', [`tinynf_dropped_packets_total{${nf}} ${s.droppedPackets}`]);
  metric('tinynf_handler_errors_total', 'counter', 'Packets whose handler threw or returned a bad length', [`tinynf_handler_errors_total{${nf}} ${s.handlerErrors}`]);
  for (const k of NIC_COUNTER_NAMES) {
    const name = `tinynf_nic_${snake(k)}_total`;
    metric(name, 'counter', NIC_HELP[k], s.nic.map((c, port) => `${name}{${nf},port="${port}"} ${c[k]}`));
  }
  // NF counters: most count events, some are sizes (flows, mappings): exposed as gauges of their current value
  const entries = Object.entries(s.counters).filter(([, v]) => typeof v === 'number' && Number.isFinite(v));
  metric('tinynf_nf_counter', 'gauge', "The NF's own counters (counters() of the NF), by name", entries.map(([k, v]) => `tinynf_nf_counter{${nf},name="${label(k)}"} ${v}`));
  return out.join('\n') + '\n';
}

export class MetricsServer {
  private constructor(
    private readonly worker: Worker,
    private readonly shared: MetricsShared,
    /** The port listened on (the one chosen when 0 was asked). */
    readonly port: number,
    readonly host: string,
  ) {}

  /** Start serving; throws a TinyNfError if the address cannot be bound. */
  static start(host: string, port: number): MetricsServer {
    const shared = createShared(host, port);
    writeSnapshot(shared, '');
    const worker = new Worker(path.join(__dirname, 'metrics-worker.js'), { workerData: shared });
    worker.unref();
    waitStatus(shared, 10_000);
    const { status, message } = readStatus(shared);
    if (status !== STATUS_LISTENING) {
      void worker.terminate();
      throw new TinyNfError(`--metrics ${host}:${port}: ${status === STATUS_ERROR ? message : 'the HTTP server did not start within 10 s'}`);
    }
    return new MetricsServer(worker, shared, Number(message), host);
  }

  publish(sample: MetricsSample): void {
    writeSnapshot(this.shared, exposition(sample));
  }

  stop(): void {
    void this.worker.terminate();
  }
}
