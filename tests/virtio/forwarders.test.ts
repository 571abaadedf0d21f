// The virtio forwarders' ring logic without QEMU: a few lines of "device" in this file play virtio-net's side of
// split virtqueues (Virtio 1.1 Section 2.6: take avail entries, read or write the buffers their descriptors name,
// write used entries), including completing transmissions out of order, which the device may do (ASSUMPTION
// ORDER-FREE). The real device is exercised by tests/vm.
import { DmaMemory, Environment } from '../../src/env/environment';
import { VirtioAgent } from '../../src/virtio/agent';
import { VirtioNetDevice, Virtqueue } from '../../src/virtio/device';
import { VirtioFlexibleForwarder } from '../../src/virtio/flexible';
import { findVirtioCaps } from '../../src/virtio/transport';
import { HandlerFaultError, HandlerFaults } from '../../src/ixgbe/handler-faults';
import * as S from '../../src/virtio/spec';

/** DMA memory from plain SharedArrayBuffers; physical address = a per-allocation base. */
class FakeDma {
  private next = 0x1000_0000;
  readonly regions: { phys: number; mem: DmaMemory }[] = [];
  readonly env = {
    allocateDma: (bytes: number): DmaMemory => {
      const mem: DmaMemory = { buffer: new SharedArrayBuffer(bytes), byteOffset: 0, byteLength: bytes, phys: this.next };
      this.regions.push({ phys: this.next, mem });
      this.next += 0x20_0000;
      return mem;
    },
  } as unknown as Environment;

  /** Bytes [phys, phys + length) as a view. */
  at(phys: number, length: number): Uint8Array {
    for (const r of this.regions) {
      if (phys >= r.phys && phys + length <= r.phys + r.mem.byteLength) return new Uint8Array(r.mem.buffer, phys - r.phys, length);
    }
    throw new Error(`device DMA to unmapped 0x${phys.toString(16)}`);
  }
}

/** virtio-net's side of one port (what QEMU does), on queues of `size` entries. */
class FakePort {
  readonly rx: Virtqueue;
  readonly tx: Virtqueue;
  notifications = 0;
  private rxAvailSeen = 0;
  private rxUsed = 0;
  private txAvailSeen = 0;
  private txUsed = 0;
  /** Transmit descriptors taken but not yet given back (completeTransmits chooses the order). */
  pending: number[] = [];

  constructor(
    readonly dma: FakeDma,
    readonly name: string,
    size: number,
    readonly header = S.NET_HDR_BYTES_MODERN,
  ) {
    const mem = dma.env.allocateDma(Virtqueue.bytes(size) * 2);
    this.rx = new Virtqueue(S.RECEIVE_QUEUE, size, mem, 0);
    this.tx = new Virtqueue(S.TRANSMIT_QUEUE, size, mem, Virtqueue.bytes(size));
    for (const q of [this.rx, this.tx]) q.notifier = { notify: () => void this.notifications++ };
  }

  device(): VirtioNetDevice {
    return { address: this.name, headerBytes: this.header, rx: this.rx, tx: this.tx } as unknown as VirtioNetDevice;
  }

  /** Receive one frame (false if the driver gave no buffer): header with num_buffers = 1, then the frame. */
  receive(frame: Uint8Array): boolean {
    const q = this.rx;
    if (this.rxAvailSeen === Atomics.load(q.avail, 1)) return false;
    const id = q.avail[2 + (this.rxAvailSeen & q.mask)];
    this.rxAvailSeen = (this.rxAvailSeen + 1) & 0xffff;
    if (q.desc[id * 4 + 3] !== S.VIRTQ_DESC_F_WRITE) throw new Error(`receive descriptor ${id} is not device-writable`);
    const buffer = this.dma.at(q.desc[id * 4] + q.desc[id * 4 + 1] * 2 ** 32, q.desc[id * 4 + 2]);
    buffer.fill(0, 0, this.header);
    if (this.header === 12) buffer[10] = 1; // num_buffers
    buffer.set(frame, this.header);
    this.use(q, this.rxUsed, id, this.header + frame.length);
    this.rxUsed = (this.rxUsed + 1) & 0xffff;
    return true;
  }

  /** A used receive entry naming descriptor `id` that the driver never made available (a device bug). */
  useBogus(id: number): void {
    this.use(this.rx, this.rxUsed, id, 60);
    this.rxUsed = (this.rxUsed + 1) & 0xffff;
  }

  /** Take every transmit entry the driver published: returns the frames (header checked all zero). */
  takeTransmits(): Uint8Array[] {
    const q = this.tx;
    const frames: Uint8Array[] = [];
    const idx = Atomics.load(q.avail, 1);
    while (this.txAvailSeen !== idx) {
      const id = q.avail[2 + (this.txAvailSeen & q.mask)];
      this.txAvailSeen = (this.txAvailSeen + 1) & 0xffff;
      const bytes = this.dma.at(q.desc[id * 4] + q.desc[id * 4 + 1] * 2 ** 32, q.desc[id * 4 + 2]);
      for (let h = 0; h < this.header; h++) if (bytes[h] !== 0) throw new Error(`transmit header byte ${h} is ${bytes[h]}, not 0 (Section 5.1.6.2)`);
      frames.push(Uint8Array.from(bytes.subarray(this.header)));
      this.pending.push(id);
    }
    return frames;
  }

  /** Give the taken transmit descriptors back, in `order` (indexes into pending) or as taken. */
  completeTransmits(reverse = false): void {
    const ids = reverse ? [...this.pending].reverse() : this.pending;
    for (const id of ids) {
      this.use(this.tx, this.txUsed, id, 0);
      this.txUsed = (this.txUsed + 1) & 0xffff;
    }
    this.pending = [];
  }

  private use(q: Virtqueue, usedIdx: number, id: number, len: number): void {
    q.used32[1 + 2 * (usedIdx & q.mask)] = id;
    q.used32[2 + 2 * (usedIdx & q.mask)] = len;
    Atomics.store(q.used16, 1, (usedIdx + 1) & 0xffff);
  }
}

function frame(n: number, length = 60): Uint8Array {
  const f = new Uint8Array(length);
  for (let i = 0; i < length; i++) f[i] = (n * 7 + i) & 0xff;
  return f;
}

type Forwarder = VirtioAgent | VirtioFlexibleForwarder;
const models: [string, (dma: FakeDma, input: FakePort, outputs: FakePort[]) => Forwarder][] = [
  ['restricted', (dma, i, o) => new VirtioAgent(dma.env, i.device(), o.map((p) => p.device()))],
  ['flexible', (dma, i, o) => new VirtioFlexibleForwarder(dma.env, i.device(), o.map((p) => p.device()))],
];

describe.each(models)('virtio %s forwarder on a fake device', (_name, create) => {
  test('frames cross unchanged; out-of-order transmit completions recycle every buffer; many laps of the rings', () => {
    const dma = new FakeDma();
    const a = new FakePort(dma, 'a', 16);
    const b = new FakePort(dma, 'b', 16);
    const f = create(dma, a, [b]);
    const handler = (_p: Uint8Array, _v: DataView, length: number, out: Uint8Array) => {
      out[0] = 1;
      return length;
    };
    let sent = 0;
    const got: Uint8Array[] = [];
    // 70000 frames: more than 65536, so every 16-bit index wraps. 8 per round on 16-entry queues: transmitted buffers
    // come back to receive at the next poll, so at most half the ring is in flight.
    for (let round = 0; round < 8750; round++) {
      for (let k = 0; k < 8; k++) {
        if (!a.receive(frame(sent++, 60 + (sent % 40)))) throw new Error(`no receive buffer in round ${round}`);
      }
      f.poll(handler);
      got.push(...b.takeTransmits());
      b.completeTransmits(round % 2 === 1); // every other round in reverse order
    }
    f.poll(handler); // reclaims the last completions
    expect(got.length).toBe(sent);
    for (const k of [0, 1, 17, 65535, 65536, 69999]) expect(Array.from(got[k])).toEqual(Array.from(frame(k, 60 + ((k + 1) % 40))));
    expect(f.stats.rxPackets).toBe(sent);
    expect(f.stats.txPackets).toEqual([sent]);
    // suppression is the device's (the fake never sets NO_NOTIFY): notifications happen, at most one per queue per poll
    expect(a.notifications + b.notifications).toBeLessThanOrEqual(2 * 8751 + 1);
  });

  test('drops go back to receive at once; invalid lengths are counted and dropped; a bad used id is skipped', () => {
    const dma = new FakeDma();
    const a = new FakePort(dma, 'a', 8);
    const b = new FakePort(dma, 'b', 8);
    const f = create(dma, a, [b]);
    let n = 0;
    const handler = (p: Uint8Array, _v: DataView, length: number, out: Uint8Array) => {
      n++;
      if (p[0] === 0xdd) return length; // outputs untouched: drop
      if (p[0] === 0xee) {
        out[0] = 1;
        return p.length + 1; // too long: invalid
      }
      out[0] = 1;
      return length;
    };
    const drop = frame(0);
    drop[0] = 0xdd;
    const bad = frame(0);
    bad[0] = 0xee;
    // 100 drops through an 8-entry queue: only possible if each dropped buffer is made available again
    for (let i = 0; i < 100; i++) {
      expect(a.receive(drop)).toBe(true);
      f.poll(handler);
    }
    expect(a.receive(bad)).toBe(true);
    f.poll(handler);
    expect(f.stats.droppedPackets).toBe(101);
    expect(f.stats.invalidLengths).toBe(1);
    expect(b.takeTransmits()).toEqual([]);
    // a used entry naming a descriptor id beyond the queue: counted, skipped, nothing breaks
    a.useBogus(999);
    f.poll(handler);
    expect(f.stats.deviceErrors).toBe(1);
    expect(n).toBe(101);
    expect(a.receive(frame(5))).toBe(true);
    f.poll(handler);
    expect(b.takeTransmits().map((x) => Array.from(x))).toEqual([Array.from(frame(5))]);
  });

  test('two outputs: the frame leaves on both; its buffer returns to receive only when both are done', () => {
    const dma = new FakeDma();
    const a = new FakePort(dma, 'a', 8);
    const b = new FakePort(dma, 'b', 8);
    const c = new FakePort(dma, 'c', 8);
    const f = create(dma, a, [b, c]);
    const handler = (_p: Uint8Array, _v: DataView, length: number, out: Uint8Array) => {
      out[0] = 1;
      out[1] = 1;
      return length;
    };
    for (let i = 0; i < 4; i++) expect(a.receive(frame(i))).toBe(true);
    f.poll(handler);
    const fromB = b.takeTransmits();
    const fromC = c.takeTransmits();
    expect(fromB.map((x) => Array.from(x))).toEqual([0, 1, 2, 3].map((i) => Array.from(frame(i))));
    expect(fromC.map((x) => Array.from(x))).toEqual(fromB.map((x) => Array.from(x)));
    b.completeTransmits();
    f.poll(handler);
    // c still holds them: in the restricted model the 4 buffers are not receivable yet (8 - 4 free)
    let accepted = 0;
    for (let i = 0; i < 8; i++) if (a.receive(frame(10 + i))) accepted++;
    expect(accepted).toBe(f instanceof VirtioAgent ? 4 : 8);
  });
});

describe('virtio queue layout and capabilities', () => {
  test('legacy layout (Section 2.6.2): used ring on the next 4096 boundary, queues 4096-aligned', () => {
    expect(Virtqueue.usedOffset(256)).toBe(8192); // 16*256 + 2*(3+256) = 4614 -> 8192
    expect(Virtqueue.bytes(256)).toBe(12288); // 8192 + 4 + 8*256 + 2 = 10246 -> 12288
    expect(Virtqueue.usedOffset(1024)).toBe(20480);
  });

  test('findVirtioCaps walks the capability list (QEMU modern virtio-net layout) and keeps the first of each type', () => {
    const config = new Uint8Array(256);
    const put32 = (at: number, v: number) => new DataView(config.buffer).setUint32(at, v >>> 0, true);
    put32(0x04, S.PCI_STATUS_CAP_LIST);
    config[0x34] = 0x98;
    // 0x98: MSI-X (id 0x11) -> 0x84 vendor: common cfg, BAR4 offset 0 len 0x1000 -> 0x70 ISR -> 0x60 device cfg
    // -> 0x4c notify (multiplier 4) -> 0xb0 a second common cfg in BAR2 (ignored: the first one counts) -> end.
    config.set([0x11, 0x84, 12], 0x98);
    const cap = (at: number, next: number, len: number, type: number, bar: number, offset: number, length: number) => {
      config.set([0x09, next, len, type, bar], at);
      put32(at + 8, offset);
      put32(at + 12, length);
    };
    cap(0x84, 0x70, 16, S.VIRTIO_PCI_CAP_COMMON_CFG, 4, 0x0, 0x1000);
    cap(0x70, 0x60, 16, S.VIRTIO_PCI_CAP_ISR_CFG, 4, 0x1000, 0x1000);
    cap(0x60, 0x4c, 16, S.VIRTIO_PCI_CAP_DEVICE_CFG, 4, 0x2000, 0x1000);
    cap(0x4c, 0xb0, 20, S.VIRTIO_PCI_CAP_NOTIFY_CFG, 4, 0x3000, 0x1000);
    put32(0x4c + 16, 4);
    cap(0xb0, 0x00, 16, S.VIRTIO_PCI_CAP_COMMON_CFG, 2, 0x0, 0x1000);
    const caps = findVirtioCaps((off) => new DataView(config.buffer).getUint32(off, true), '0000:00:10.0');
    expect(caps.get(S.VIRTIO_PCI_CAP_COMMON_CFG)).toEqual({ bar: 4, offset: 0, length: 0x1000, multiplier: 0 });
    expect(caps.get(S.VIRTIO_PCI_CAP_NOTIFY_CFG)).toEqual({ bar: 4, offset: 0x3000, length: 0x1000, multiplier: 4 });
    expect(caps.get(S.VIRTIO_PCI_CAP_DEVICE_CFG)?.offset).toBe(0x2000);
    // no capability list at all: one clear error
    const empty = new Uint8Array(256);
    expect(() => findVirtioCaps((off) => new DataView(empty.buffer).getUint32(off, true), '0000:00:10.0')).toThrow(/no PCI capabilities list/);
  });
});

describe.each(models)('virtio %s forwarder: handler faults (docs/contracts.md)', (_name, create) => {
  test('a throwing handler drops the packet, counts it, reports once; with failFast the error stops the poll', () => {
    const dma = new FakeDma();
    const a = new FakePort(dma, 'a', 8);
    const b = new FakePort(dma, 'b', 8);
    const f = create(dma, a, [b]);
    const reports: unknown[] = [];
    f.faults = new HandlerFaults({ nf: 'test', port: 0, report: (fault) => reports.push(fault.error) });
    const handler = (p: Uint8Array, _v: DataView, length: number, out: Uint8Array) => {
      out[0] = 1;
      if (p[0] === 0xff) throw new Error('boom');
      return length;
    };
    const boom = frame(1);
    boom[0] = 0xff;
    // 20 faults through an 8-entry queue: each faulting packet's buffer goes back to receive
    for (let i = 0; i < 20; i++) {
      expect(a.receive(boom)).toBe(true);
      f.poll(handler);
    }
    expect(f.stats.handlerErrors).toBe(20);
    expect(f.stats.droppedPackets).toBe(20);
    expect(reports.map((e) => (e as Error).message)).toEqual(['boom']);
    expect(b.takeTransmits()).toEqual([]);
    expect(a.receive(frame(2))).toBe(true);
    f.poll(handler);
    expect(b.takeTransmits().map((x) => Array.from(x))).toEqual([Array.from(frame(2))]);
    f.faults = new HandlerFaults({ nf: 'test', port: 0, failFast: true, report: null });
    expect(a.receive(boom)).toBe(true);
    expect(() => f.poll(handler)).toThrow(HandlerFaultError);
  });
});
