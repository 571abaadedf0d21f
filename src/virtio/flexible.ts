// The flexible model on virtio-net (ixy's virtio driver, DPDK's virtio PMD in spirit), for comparison with the TinyNF
// model of agent.ts: a pool of buffers; the receive queue refills every used descriptor with a fresh buffer from the
// pool (writing its address), received buffers go to the handler in batches, kept ones are put in free transmit
// descriptors (address and length written per packet), and transmitted buffers return to the pool when the device
// has used them. A packet sent to several outputs is copied for every output after the first.
import { Environment, TinyNfError } from '../env/environment';
import type { Forwarder, ForwarderStats } from '../ixgbe/forwarder';
import type { PacketHandler } from '../ixgbe/handler';
import { HandlerFaults } from '../ixgbe/handler-faults';
import { VirtioNetDevice, Virtqueue } from './device';
import * as S from './spec';

const BUFFER_BYTES = 2048;
/** Buffers in the pool: a receive queue's worth, a transmit queue's worth per output, and slack for copies. */
const POOL_SIZE = 1024;
export const VIRTIO_FLEXIBLE_BATCH = 32;
const BATCH = VIRTIO_FLEXIBLE_BATCH;
const POLL_BUDGET = 256;
const NO_NOTIFY = S.VIRTQ_USED_F_NO_NOTIFY;

export interface VirtioFlexibleStats extends ForwarderStats {
  invalidLengths: number;
  deviceErrors: number;
  /** Copies for packets sent to more than one output. */
  copies: number;
  /** Packets dropped for lack of a free buffer or transmit descriptor. */
  txDropped: number;
  notifications: number;
}

/** One queue's driver-side state: which buffer each descriptor holds, and indexes. */
class QueueState {
  readonly bufferAt: Int32Array;
  /** Transmit only: descriptors not in the device's hands. */
  readonly freeDesc: Int32Array;
  freeTop = 0;
  availIdx = 0;
  published = 0;
  usedSeen = 0;
  constructor(readonly q: Virtqueue) {
    this.bufferAt = new Int32Array(q.size).fill(-1);
    this.freeDesc = new Int32Array(q.size);
  }
}

export class VirtioFlexibleForwarder implements Forwarder {
  readonly outputsCount: number;
  readonly stats: VirtioFlexibleStats;
  /** What a throwing handler or a bad length does (src/ixgbe/handler-faults.ts). */
  faults: HandlerFaults = new HandlerFaults();
  private readonly header: number;
  private readonly capacity: number;
  private readonly packets: Uint8Array[] = [];
  private readonly views: DataView[] = [];
  private readonly physLow: Uint32Array;
  private readonly physHigh: Uint32Array;
  private readonly lengths: Uint16Array;
  private readonly halves: Uint16Array;
  private readonly freeStack: Int32Array;
  private top = 0;
  private readonly rx: QueueState;
  private readonly tx: QueueState[];
  private readonly outputs: Uint8Array;
  private readonly received = new Int32Array(BATCH);
  private readonly toSend: Int32Array[];
  private readonly toSendCount: Int32Array;

  constructor(env: Environment, input: VirtioNetDevice, outputs: readonly VirtioNetDevice[]) {
    if (outputs.length < 1 || outputs.length > 4) throw new TinyNfError(`a forwarder has 1 to 4 outputs, got ${outputs.length}`);
    this.header = input.headerBytes;
    for (const o of outputs) {
      if (o.headerBytes !== this.header) throw new TinyNfError('a forwarder cannot mix modern and legacy virtio ports (their headers differ in size)');
    }
    if (new Set(outputs).size !== outputs.length) throw new TinyNfError('a forwarder lists the same virtio output twice');
    input.rx.claim(`receive on ${input.address}`);
    for (const o of outputs) o.tx.claim(`transmit on ${o.address}`);
    this.capacity = BUFFER_BYTES - this.header;
    this.outputsCount = outputs.length;
    this.stats = { rxPackets: 0, txPackets: new Array<number>(outputs.length).fill(0), droppedPackets: 0, handlerErrors: 0, invalidLengths: 0, deviceErrors: 0, copies: 0, txDropped: 0, notifications: 0 };
    const memory = env.allocateDma(POOL_SIZE * BUFFER_BYTES);
    this.halves = new Uint16Array(memory.buffer, memory.byteOffset, (POOL_SIZE * BUFFER_BYTES) / 2);
    this.physLow = new Uint32Array(POOL_SIZE);
    this.physHigh = new Uint32Array(POOL_SIZE);
    this.lengths = new Uint16Array(POOL_SIZE);
    this.freeStack = new Int32Array(POOL_SIZE);
    for (let b = 0; b < POOL_SIZE; b++) {
      const at = memory.byteOffset + b * BUFFER_BYTES + this.header;
      this.packets.push(new Uint8Array(memory.buffer, at, this.capacity));
      this.views.push(new DataView(memory.buffer, at, this.capacity));
      const phys = memory.phys + b * BUFFER_BYTES;
      this.physLow[b] = phys >>> 0;
      this.physHigh[b] = Math.floor(phys / 2 ** 32);
      this.freeStack[this.top++] = POOL_SIZE - 1 - b;
    }
    this.outputs = new Uint8Array(outputs.length);
    this.toSend = outputs.map(() => new Int32Array(BATCH));
    this.toSendCount = new Int32Array(outputs.length);
    this.tx = outputs.map((o) => {
      const s = new QueueState(o.tx);
      for (let d = o.tx.size - 1; d >= 0; d--) s.freeDesc[s.freeTop++] = d;
      return s;
    });
    this.rx = new QueueState(input.rx);
    if (this.rx.q.size + outputs.reduce((n, o) => n + o.tx.size, 0) + BATCH > POOL_SIZE) {
      throw new TinyNfError(`the flexible model's pool (${POOL_SIZE} buffers) cannot fill these queues`);
    }
    const rxq = this.rx.q;
    for (let d = 0; d < rxq.size; d++) {
      this.giveReceive(d, this.alloc());
      rxq.avail[2 + (this.rx.availIdx & rxq.mask)] = d;
      this.rx.availIdx = (this.rx.availIdx + 1) & 0xffff;
    }
    this.publish(this.rx);
  }

  private alloc(): number {
    return this.top === 0 ? -1 : this.freeStack[--this.top];
  }

  private free(b: number): void {
    this.freeStack[this.top++] = b;
  }

  /** Receive descriptor d now holds buffer b (device-writable, whole buffer). */
  private giveReceive(d: number, b: number): void {
    const desc = this.rx.q.desc;
    desc[d * 4] = this.physLow[b];
    desc[d * 4 + 1] = this.physHigh[b];
    desc[d * 4 + 2] = BUFFER_BYTES;
    desc[d * 4 + 3] = S.VIRTQ_DESC_F_WRITE;
    this.rx.bufferAt[d] = b;
  }

  poll(handler: PacketHandler): number {
    let total = 0;
    while (total < POLL_BUDGET) {
      const n = this.pollBatch(handler);
      total += n;
      if (n < BATCH) break;
    }
    return total;
  }

  private pollBatch(handler: PacketHandler): number {
    for (let k = 0; k < this.outputsCount; k++) this.clean(this.tx[k]);
    const n = this.rxBatch();
    const outputs = this.outputs;
    for (let i = 0; i < n; i++) {
      const b = this.received[i];
      let length: number;
      try {
        length = handler(this.packets[b], this.views[b], this.lengths[b], outputs);
      } catch (e) {
        outputs.fill(0);
        this.dispatch(b, 0); // dropped: the buffer goes back to the pool
        try {
          this.faults.threw(this.stats, e);
        } catch (stop) {
          // fail-fast: the rest of the batch is given back before the error goes up
          for (let j = i + 1; j < n; j++) this.free(this.received[j]);
          this.publish(this.rx);
          throw stop;
        }
        continue;
      }
      this.dispatch(b, length);
    }
    for (let k = 0; k < this.outputsCount; k++) this.send(k);
    this.publish(this.rx);
    return n;
  }

  /** Up to BATCH received buffers into `received`; each used descriptor is refilled from the pool at once. */
  private rxBatch(): number {
    const s = this.rx;
    const q = s.q;
    const usedIdx = Atomics.load(q.used16, 1);
    let n = 0;
    while (s.usedSeen !== usedIdx && n < BATCH) {
      const e = ((s.usedSeen & q.mask) << 1) + 1;
      const d = q.used32[e];
      const len = q.used32[e + 1];
      s.usedSeen = (s.usedSeen + 1) & 0xffff;
      if (d >= q.size || s.bufferAt[d] < 0 || len < this.header) {
        this.stats.deviceErrors++;
        if (d < q.size && s.bufferAt[d] >= 0) this.makeAvailable(s, d);
        continue;
      }
      const fresh = this.alloc();
      if (fresh < 0) {
        // no buffer to refill with: drop the packet, the descriptor keeps its buffer
        this.stats.txDropped++;
        this.makeAvailable(s, d);
        continue;
      }
      const b = s.bufferAt[d];
      this.lengths[b] = len - this.header;
      this.received[n++] = b;
      this.giveReceive(d, fresh);
      this.makeAvailable(s, d);
    }
    this.stats.rxPackets += n;
    return n;
  }

  private makeAvailable(s: QueueState, d: number): void {
    s.q.avail[2 + (s.availIdx & s.q.mask)] = d;
    s.availIdx = (s.availIdx + 1) & 0xffff;
  }

  private dispatch(b: number, length: number): void {
    const outputs = this.outputs;
    const returned = length;
    let bad = false;
    if (!(length > 0 && length <= this.capacity && (length | 0) === length)) {
      bad = length !== 0;
      if (bad) this.stats.invalidLengths++;
      outputs.fill(0);
      length = 0;
    }
    this.lengths[b] = length;
    let used = false;
    for (let k = 0; k < this.outputsCount; k++) {
      if (outputs[k] === 0) continue;
      outputs[k] = 0;
      let target = b;
      if (used) {
        target = this.alloc();
        if (target < 0) {
          this.stats.txDropped++;
          continue;
        }
        this.packets[target].set(this.packets[b].subarray(0, length));
        this.lengths[target] = length;
        this.stats.copies++;
      }
      used = true;
      this.toSend[k][this.toSendCount[k]++] = target;
    }
    if (!used) {
      this.free(b);
      this.stats.droppedPackets++;
    }
    if (bad) this.faults.badLength(this.stats, returned, this.capacity);
  }

  /** Put output k's batch in free transmit descriptors (address, length, zeroed header), then publish. */
  private send(k: number): void {
    const count = this.toSendCount[k];
    if (count === 0) return;
    const s = this.tx[k];
    const q = s.q;
    const batch = this.toSend[k];
    const halves = this.halves;
    const headerHalves = this.header >>> 1;
    for (let i = 0; i < count; i++) {
      const b = batch[i];
      if (s.freeTop === 0) this.clean(s);
      if (s.freeTop === 0) {
        this.free(b);
        this.stats.txDropped++;
        continue;
      }
      const d = s.freeDesc[--s.freeTop];
      const base = b * (BUFFER_BYTES >>> 1);
      for (let h = 0; h < headerHalves; h++) halves[base + h] = 0; // Section 5.1.6.2: all-zero header, num_buffers 0
      q.desc[d * 4] = this.physLow[b];
      q.desc[d * 4 + 1] = this.physHigh[b];
      q.desc[d * 4 + 2] = this.header + this.lengths[b];
      q.desc[d * 4 + 3] = 0;
      s.bufferAt[d] = b;
      this.makeAvailable(s, d);
      this.stats.txPackets[k]++;
    }
    this.toSendCount[k] = 0;
    this.publish(s);
  }

  /** Transmitted buffers back to the pool, their descriptors back to the free stack. */
  private clean(s: QueueState): void {
    const q = s.q;
    const usedIdx = Atomics.load(q.used16, 1);
    while (s.usedSeen !== usedIdx) {
      const d = q.used32[((s.usedSeen & q.mask) << 1) + 1];
      s.usedSeen = (s.usedSeen + 1) & 0xffff;
      if (d >= q.size || s.bufferAt[d] < 0) {
        this.stats.deviceErrors++;
        continue;
      }
      this.free(s.bufferAt[d]);
      s.bufferAt[d] = -1;
      s.freeDesc[s.freeTop++] = d;
    }
  }

  /** As agent.ts publish(): index with Atomics.store, then notify unless VIRTQ_USED_F_NO_NOTIFY (ASSUMPTION ORDERING). */
  private publish(s: QueueState): void {
    if (s.availIdx === s.published) return;
    Atomics.store(s.q.avail, 1, s.availIdx);
    s.published = s.availIdx;
    if ((Atomics.load(s.q.used16, 0) & NO_NOTIFY) === 0) {
      s.q.notify();
      this.stats.notifications++;
    }
  }
}
