// Runs the same packet handlers as the restricted Agent, on the flexible (ixy/DPDK-style) queues: receive a batch,
// call the handler per packet, transmit the kept packets per output, free the dropped ones. A packet sent to
// several outputs is copied into a fresh buffer for every output after the first (counted in `copies`).
import { Environment, TinyNfError } from '../env/environment';
import { BufferPool, DEFAULT_POOL_SIZE } from './buffer-pool';
import { Device } from './device';
import type { Forwarder, ForwarderStats } from './forwarder';
import type { PacketHandler } from './handler';
import { HandlerFaults } from './handler-faults';
import { POLL_BUDGET } from './agent';
import { DEFAULT_QUEUE_RING_SIZE, RxQueue, TxQueue } from './queues';

export const DEFAULT_BATCH_SIZE = 32;
/** A module-local copy: an imported binding is a property load from agent.ts's exports object at every use. */
const BUDGET = POLL_BUDGET;

export interface FlexibleOptions {
  /** Packets per rxBatch/txBatch (default 32). */
  batchSize?: number;
  /** Descriptors per ring (default 512). */
  ringSize?: number;
  /** Buffers in the pool (default 4096). */
  poolSize?: number;
}

export interface FlexibleStats extends ForwarderStats {
  /** Extra copies made for packets sent to more than one output. */
  copies: number;
  /** Packets dropped because a transmit ring was full or the pool was empty for a copy. */
  txDropped: number;
  /** Handler returned a length outside 1..buffer size (dropped, also in droppedPackets). */
  invalidLengths: number;
}

export class FlexibleForwarder implements Forwarder {
  readonly pool: BufferPool;
  readonly rx: RxQueue;
  readonly tx: readonly TxQueue[];
  readonly outputsCount: number;
  readonly stats: FlexibleStats;
  readonly batchSize: number;
  private readonly outputs: Uint8Array;
  private readonly received: Int32Array;
  private readonly toSend: Int32Array[];
  private readonly toSendCount: Int32Array;
  faults: HandlerFaults = new HandlerFaults();

  constructor(env: Environment, input: Device, outputs: readonly Device[], options: FlexibleOptions = {}) {
    if (outputs.length < 1 || outputs.length > 4) {
      throw new TinyNfError(`a forwarder has 1 to 4 outputs, got ${outputs.length}`);
    }
    const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
    const ringSize = options.ringSize ?? DEFAULT_QUEUE_RING_SIZE;
    if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize >= ringSize) {
      throw new TinyNfError(`batch size must be between 1 and ${ringSize - 1}, got ${options.batchSize}`);
    }
    this.batchSize = batchSize;
    this.outputsCount = outputs.length;
    this.pool = new BufferPool(env, options.poolSize ?? DEFAULT_POOL_SIZE);
    // Outputs first, as for the agent: everything is ready before receive starts.
    this.tx = outputs.map((device) => new TxQueue(env, device, this.pool, ringSize));
    this.rx = new RxQueue(env, input, this.pool, ringSize);
    this.stats = {
      rxPackets: 0,
      txPackets: new Array<number>(outputs.length).fill(0),
      droppedPackets: 0,
      handlerErrors: 0,
      copies: 0,
      txDropped: 0,
      invalidLengths: 0,
    };
    this.outputs = new Uint8Array(outputs.length);
    this.received = new Int32Array(batchSize);
    this.toSend = outputs.map(() => new Int32Array(batchSize));
    this.toSendCount = new Int32Array(outputs.length);
  }

  /** Receive and handle batches until the input is idle or POLL_BUDGET packets were processed. */
  poll(handler: PacketHandler): number {
    let total = 0;
    while (total < BUDGET) {
      const n = this.pollBatch(handler);
      total += n;
      if (n < this.batchSize) break;
    }
    return total;
  }

  /** One batch: rxBatch, the handler per packet, txBatch per output. */
  pollBatch(handler: PacketHandler): number {
    const n = this.rx.rxBatch(this.received, this.batchSize);
    if (n === 0) {
      for (let k = 0; k < this.outputsCount; k++) this.tx[k].clean();
      return 0;
    }
    this.stats.rxPackets += n;
    const pool = this.pool;
    const outputs = this.outputs;
    for (let i = 0; i < n; i++) {
      const buffer = this.received[i];
      let length: number;
      try {
        length = handler(pool.packets[buffer], pool.views[buffer], pool.lengths[buffer], outputs);
      } catch (e) {
        // dropped (freed); the rest of the batch goes on
        outputs.fill(0);
        this.dispatch(buffer, 0, outputs);
        if (this.faults.failFast) this.abandon(i + 1, n);
        this.faults.threw(this.stats, e); // throws with failFast
        continue;
      }
      if (this.dispatch(buffer, length, outputs)) {
        if (this.faults.failFast) this.abandon(i + 1, n);
        this.faults.badLength(this.stats, length, pool.bufferBytes); // throws with failFast
      }
    }
    for (let k = 0; k < this.outputsCount; k++) this.send(k);
    return n;
  }

  /**
   * Put `buffer` in the batch of every chosen output (copying for the second and later ones), or free it. Returns
   * true if `length` was not an integer 0..buffer size (the packet is then dropped).
   */
  private dispatch(buffer: number, length: number, outputs: Uint8Array): boolean {
    const pool = this.pool;
    let bad = false;
    // an integer 0..bufferBytes (`>>> 0` turns anything else, NaN, fractions, negatives, non-numbers, into another value)
    if ((length >>> 0) !== length || length > pool.bufferBytes || length === 0) {
      if (length !== 0) {
        this.stats.invalidLengths++;
        bad = true;
      }
      length = 0;
      outputs.fill(0);
    }
    pool.lengths[buffer] = length;
    let used = false;
    for (let k = 0; k < this.outputsCount; k++) {
      if (outputs[k] === 0) continue;
      outputs[k] = 0;
      let b = buffer;
      if (used) {
        b = pool.alloc();
        if (b < 0) {
          this.stats.txDropped++;
          continue;
        }
        pool.copy(buffer, b);
        this.stats.copies++;
      }
      used = true;
      this.toSend[k][this.toSendCount[k]++] = b;
    }
    if (!used) {
      pool.free(buffer);
      this.stats.droppedPackets++;
    }
    return bad;
  }

  /** Before a fail-fast stop: send what was decided, free the batch's packets from `from` on (dropped). */
  private abandon(from: number, n: number): void {
    for (let k = 0; k < this.outputsCount; k++) this.send(k);
    for (let i = from; i < n; i++) {
      this.pool.free(this.received[i]);
      this.stats.droppedPackets++;
    }
  }

  private send(k: number): void {
    const count = this.toSendCount[k];
    if (count === 0) return;
    const batch = this.toSend[k];
    const sent = this.tx[k].txBatch(batch, count);
    this.stats.txPackets[k] += sent;
    for (let i = sent; i < count; i++) {
      this.pool.free(batch[i]);
      this.stats.txDropped++;
    }
    this.toSendCount[k] = 0;
  }
}
