// The TinyNF model on virtio-net: buffers never move. Buffer i is descriptor i in the input's receive queue AND
// descriptor i in every output's transmit queue (each descriptor table is written once, at set-up, with the same
// addresses). A buffer's life is only ever a descriptor id travelling between rings:
//   receive avail ring -> receive used ring (id, length) -> handler -> transmit avail ring of each chosen output
//   -> transmit used ring (id) -> (when every output is done with it) receive avail ring again.
// Dropped packets go straight back to the receive avail ring. No buffer pool, no free list, no address writes per
// packet: the split virtqueue's indirection (rings carry descriptor ids, not addresses) lets one id name the same
// buffer in every queue, which is what TinyNF gets on the 82599 by sharing the descriptor ring itself. Unlike the
// 82599, the order in which the device completes buffers does not matter (ASSUMPTION ORDER-FREE in spec.ts): the id
// comes back with every used entry. See docs/virtio.md.
import { Environment, TinyNfError } from '../env/environment';
import type { Forwarder, ForwarderStats } from '../ixgbe/forwarder';
import type { PacketHandler } from '../ixgbe/handler';
import { HandlerFaults } from '../ixgbe/handler-faults';
import { VirtioNetDevice, Virtqueue } from './device';
import * as S from './spec';

/** Bytes per buffer: virtio_net_hdr + a 1514-byte frame fit; frame views are BUFFER_BYTES - header long. */
const BUFFER_BYTES = 2048;
const MAX_OUTPUTS = 4;
/** Packets handled at most per poll(). */
const POLL_BUDGET = 256;
const NO_NOTIFY = S.VIRTQ_USED_F_NO_NOTIFY;
const DESC_F_WRITE = S.VIRTQ_DESC_F_WRITE;
export { BUFFER_BYTES as VIRTIO_BUFFER_BYTES, POLL_BUDGET as VIRTIO_POLL_BUDGET };

export interface VirtioAgentStats extends ForwarderStats {
  /** Handler returned a length outside 1..frame capacity (dropped, also in droppedPackets). */
  invalidLengths: number;
  /** Used entries with an id we never made available or a length shorter than the header (skipped). */
  deviceErrors: number;
  /** Notifications written (MMIO stores or I/O-port writes): what suppression saves. */
  notifications: number;
}

export class VirtioAgent implements Forwarder {
  readonly outputsCount: number;
  readonly stats: VirtioAgentStats;
  /** What a throwing handler or a bad length does (src/ixgbe/handler-faults.ts: drop the packet, count, report once). */
  faults: HandlerFaults = new HandlerFaults();
  /** Pre-made views of each buffer's frame (after the virtio_net_hdr), by descriptor id. */
  readonly packets: readonly Uint8Array[];
  readonly views: readonly DataView[];
  readonly outputs: Uint8Array;
  /** Buffers (= descriptors per queue) of this agent. */
  readonly slots: number;
  private readonly rx: Virtqueue;
  private readonly tx: Virtqueue[];
  private readonly header: number;
  private readonly capacity: number;
  /** 16-bit view of all buffers, for zeroing headers. */
  private readonly halves: Uint16Array;
  private readonly halvesPerBuffer: number;
  private readonly headerHalves: number;
  /** Outputs still holding each buffer. */
  private readonly refs: Uint8Array;
  private rxAvailIdx = 0;
  private rxAvailPublished = 0;
  private rxUsedSeen = 0;
  private readonly txAvailIdx: Int32Array;
  private readonly txAvailPublished: Int32Array;
  private readonly txUsedSeen: Int32Array;

  constructor(env: Environment, input: VirtioNetDevice, outputs: readonly VirtioNetDevice[]) {
    if (outputs.length < 1 || outputs.length > MAX_OUTPUTS) throw new TinyNfError(`an agent has 1 to ${MAX_OUTPUTS} outputs, got ${outputs.length}`);
    const header = input.headerBytes;
    for (const o of outputs) {
      if (o.headerBytes !== header) throw new TinyNfError('an agent cannot mix modern and legacy virtio ports (their headers differ in size)');
    }
    const slots = input.rx.size;
    for (const o of outputs) {
      if (o.tx.size < slots) throw new TinyNfError(`${o.address}'s transmit queue (${o.tx.size}) is smaller than ${input.address}'s receive queue (${slots})`);
    }
    if (slots * BUFFER_BYTES > 2 * 1024 * 1024) throw new TinyNfError(`${slots} buffers of ${BUFFER_BYTES} bytes do not fit one huge page`);
    input.rx.claim(`receive on ${input.address}`);
    const seen = new Set<Virtqueue>();
    for (const o of outputs) {
      if (!seen.has(o.tx)) o.tx.claim(`transmit on ${o.address}`);
      seen.add(o.tx);
    }
    if (seen.size !== outputs.length) throw new TinyNfError('an agent lists the same virtio output twice');
    this.rx = input.rx;
    this.tx = [...outputs.map((o) => o.tx)];
    this.outputsCount = outputs.length;
    this.header = header;
    this.capacity = BUFFER_BYTES - header;
    this.slots = slots;
    this.stats = { rxPackets: 0, txPackets: new Array<number>(outputs.length).fill(0), droppedPackets: 0, handlerErrors: 0, invalidLengths: 0, deviceErrors: 0, notifications: 0 };
    this.outputs = new Uint8Array(outputs.length);
    this.refs = new Uint8Array(slots);
    this.txAvailIdx = new Int32Array(outputs.length);
    this.txAvailPublished = new Int32Array(outputs.length);
    this.txUsedSeen = new Int32Array(outputs.length);

    const buffers = env.allocateDma(slots * BUFFER_BYTES);
    this.halves = new Uint16Array(buffers.buffer, buffers.byteOffset, (slots * BUFFER_BYTES) / 2);
    this.halvesPerBuffer = BUFFER_BYTES / 2;
    this.headerHalves = header / 2;
    const packets: Uint8Array[] = [];
    const views: DataView[] = [];
    for (let i = 0; i < slots; i++) {
      const at = buffers.byteOffset + i * BUFFER_BYTES + header;
      packets.push(new Uint8Array(buffers.buffer, at, this.capacity));
      views.push(new DataView(buffers.buffer, at, this.capacity));
      const phys = buffers.phys + i * BUFFER_BYTES;
      // Section 2.6.5 struct virtq_desc, written once: the same address in every queue of this agent.
      // Receive: device-writable, the whole buffer (Section 5.1.6.3 Setting Up Receive Buffers: header + frame in one).
      writeDesc(this.rx, i, phys, BUFFER_BYTES, DESC_F_WRITE);
      // Transmit: device-readable; the length is written per packet.
      for (const q of this.tx) writeDesc(q, i, phys, 0, 0);
    }
    // Every buffer available for receive (Section 2.6.13.2), then the index (TSO: after the entries), then notify.
    for (let i = 0; i < slots; i++) this.recycle(i);
    this.publish();
    this.packets = packets;
    this.views = views;
  }

  poll(handler: PacketHandler): number {
    // Buffers the outputs are done with go back to receive first: they are what the device receives into next.
    for (let k = 0; k < this.outputsCount; k++) this.reclaim(k);
    const rx = this.rx;
    // Section 2.6.14 Receiving Used Buffers From The Device: idx is read with Atomics.load (acquire: the entries and
    // the buffers it covers are read after it).
    const usedIdx = Atomics.load(rx.used16, 1);
    let seen = this.rxUsedSeen;
    let n = (usedIdx - seen) & 0xffff;
    if (n > POLL_BUDGET) n = POLL_BUDGET;
    const used = rx.used32;
    const mask = rx.mask;
    const packets = this.packets;
    const views = this.views;
    const outputs = this.outputs;
    const header = this.header;
    const slots = this.slots;
    for (let i = 0; i < n; i++) {
      const e = ((seen & mask) << 1) + 1;
      const id = used[e];
      const len = used[e + 1];
      seen = (seen + 1) & 0xffff;
      if (id >= slots || len < header) {
        // A device bug, not a packet: count it and skip (never index a buffer we do not own).
        this.stats.deviceErrors++;
        if (id < slots) this.recycle(id);
        continue;
      }
      this.stats.rxPackets++;
      let length: number;
      try {
        length = handler(packets[id], views[id], len - header, outputs);
      } catch (e) {
        // the packet is dropped (its buffer goes back to receive) before the fault is reported or rethrown
        outputs.fill(0);
        this.transmit(id, 0);
        this.rxUsedSeen = seen;
        this.faults.threw(this.stats, e);
        continue;
      }
      this.transmit(id, length);
    }
    this.rxUsedSeen = seen;
    this.publish();
    return n;
  }

  /** Queue buffer `id` with `length` on every output chosen in `outputs` (then zeroed), or give it back if none. */
  private transmit(id: number, length: number): void {
    const outputs = this.outputs;
    let bad = false;
    if (!(length > 0 && length <= this.capacity && (length | 0) === length)) {
      bad = length !== 0;
      if (bad) this.stats.invalidLengths++;
      outputs.fill(0);
    }
    let holders = 0;
    for (let k = 0; k < this.outputsCount; k++) {
      if (outputs[k] === 0) continue;
      outputs[k] = 0;
      const q = this.tx[k];
      q.desc[(id << 2) + 2] = this.header + length;
      const idx = this.txAvailIdx[k];
      q.avail[2 + (idx & q.mask)] = id;
      this.txAvailIdx[k] = (idx + 1) & 0xffff;
      this.stats.txPackets[k]++;
      holders++;
    }
    if (holders === 0) {
      this.stats.droppedPackets++;
      this.recycle(id);
      if (bad) this.faults.badLength(this.stats, length, this.capacity);
      return;
    }
    // Section 5.1.6.2 Packet Transmission: no offload negotiated, so flags = 0, gso_type = VIRTIO_NET_HDR_GSO_NONE (0),
    // the other fields 0, and "The driver MUST set num_buffers to zero" (the device set it to 1 on receive).
    const halves = this.halves;
    const base = id * this.halvesPerBuffer;
    for (let h = 0; h < this.headerHalves; h++) halves[base + h] = 0;
    this.refs[id] = holders;
  }

  /** Buffers output k has transmitted: give each back to receive once no output holds it. */
  private reclaim(k: number): void {
    const q = this.tx[k];
    const usedIdx = Atomics.load(q.used16, 1);
    let seen = this.txUsedSeen[k];
    if (seen === usedIdx) return;
    const used = q.used32;
    const mask = q.mask;
    const refs = this.refs;
    while (seen !== usedIdx) {
      const id = used[((seen & mask) << 1) + 1];
      seen = (seen + 1) & 0xffff;
      if (id >= this.slots || refs[id] === 0) {
        this.stats.deviceErrors++;
        continue;
      }
      if (--refs[id] === 0) this.recycle(id);
    }
    this.txUsedSeen[k] = seen;
  }

  /** Put buffer `id` in the receive avail ring (published by publish()). */
  private recycle(id: number): void {
    const rx = this.rx;
    rx.avail[2 + (this.rxAvailIdx & rx.mask)] = id;
    this.rxAvailIdx = (this.rxAvailIdx + 1) & 0xffff;
  }

  /**
   * Publish new avail entries of every queue: the index with Atomics.store (after the plain stores of the entries
   * and descriptors, which x86-64 keeps in order; a full barrier before the flags load), then notify unless the
   * device said it does not need it (Section 2.6.10.1: "If flags is 1, the driver SHOULD NOT send a notification";
   * if 0, it MUST). ASSUMPTION ORDERING in spec.ts.
   */
  private publish(): void {
    for (let k = 0; k < this.outputsCount; k++) {
      const idx = this.txAvailIdx[k];
      if (idx === this.txAvailPublished[k]) continue;
      const q = this.tx[k];
      Atomics.store(q.avail, 1, idx);
      this.txAvailPublished[k] = idx;
      if ((Atomics.load(q.used16, 0) & NO_NOTIFY) === 0) {
        q.notify();
        this.stats.notifications++;
      }
    }
    const idx = this.rxAvailIdx;
    if (idx !== this.rxAvailPublished) {
      const rx = this.rx;
      Atomics.store(rx.avail, 1, idx);
      this.rxAvailPublished = idx;
      if ((Atomics.load(rx.used16, 0) & NO_NOTIFY) === 0) {
        rx.notify();
        this.stats.notifications++;
      }
    }
  }
}

/** Section 2.6.5: le64 addr (two words), le32 len, le16 flags, le16 next (0: no chains here). */
function writeDesc(q: Virtqueue, i: number, phys: number, len: number, flags: number): void {
  q.desc[i * 4] = phys >>> 0;
  q.desc[i * 4 + 1] = Math.floor(phys / 2 ** 32);
  q.desc[i * 4 + 2] = len;
  q.desc[i * 4 + 3] = flags;
}
