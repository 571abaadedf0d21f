// Run INSIDE a QEMU guest by tests/vm/vfio.test.ts (node dist/tests/vm/vfio-guest-program.js NIC0 NIC1 NIC2): the
// VFIO environment on modern virtio-net NICs behind QEMU's intel-iommu, all three on one QEMU hub (a frame sent by
// one reaches the other two). Prints one JSON line of findings; the test on the host judges them.
//
// It does not use a virtio driver: it brings the devices up by hand with the smallest split-virtqueue code that
// moves a frame (Virtio 1.1 Sections 2.6 Split Virtqueues, 3.1.1 Driver Requirements: Device Initialization,
// 4.1.4 Virtio Structure PCI Capabilities, 5.1.6 Device Operation), because what is tested here is VFIO and the
// IOMMU: every address the devices get is an IOVA of ours (above the guest's RAM, so an untranslated access could
// not land in RAM at all), and an address outside the mapped range is refused by the IOMMU.
//   1. NIC0 sends frame A from a mapped buffer: NIC1 and NIC2 receive it into mapped buffers.
//   2. NIC1's next receive descriptor points at a page of ours we took out of the IOMMU (unmapDma); NIC0 sends frame B:
//      NIC2 receives it, NIC1's write faults in the IOMMU: the page stays as we filled it.
//   3. NIC0's next transmit descriptor points at that page: the read faults; whatever NIC0 sends, none of the page is in it.
// QEMU's virtio-net does not notice a faulting DMA (it goes through a bounce buffer: the descriptor completes as if
// done, the device status stays DRIVER_OK); the IOMMU reports the fault to the guest kernel (DMAR lines in dmesg).
//   4. close() and a second environment: the groups open again (cleanup leaves them reusable).
// Common configuration fields are accessed at their own width (Section 4.1.3.1): 32-bit ones through DeviceMemory
// on the mmap'd BAR, 8- and 16-bit ones by pread/pwrite of the BAR region through the VFIO device fd (one access of
// that width each: vfio-pci's vfio_pci_core_do_io_rw).
import { DeviceMemory } from '../../src/env/device-memory';
import type { DmaMemory } from '../../src/env/environment';
import { shmAddon } from '../../src/env/native/addon';
import { Pagemap } from '../../src/env/pagemap';
import { iommuGroupInfo } from '../../src/env/sysfs';
import * as A from '../../src/env/vfio-abi';
import { VfioEnvironment } from '../../src/env/vfio';

// Section 4.1.4: vendor-specific capability (cap_vndr 0x09) fields and cfg_type values
const CAP_VNDR = 0x09;
const COMMON_CFG = 1;
const NOTIFY_CFG = 2;
// Section 4.1.4.3 common configuration layout
const C = { dfselect: 0, df: 4, gfselect: 8, gf: 12, numQueues: 18, status: 20, qselect: 22, qsize: 24, qenable: 28, qnotifyOff: 30, qdesc: 32, qdriver: 40, qdevice: 48 };
// Section 2.1 device status bits
const ACKNOWLEDGE = 1, DRIVER = 2, DRIVER_OK = 4, FEATURES_OK = 8, NEEDS_RESET = 64;
// Feature bits 32 (VIRTIO_F_VERSION_1) and 33 (VIRTIO_F_ACCESS_PLATFORM): bits 0 and 1 of the high word
const F_HI_VERSION_1 = 1 << 0, F_HI_ACCESS_PLATFORM = 1 << 1;
const VIRTQ_DESC_F_WRITE = 2;
const NET_HDR = 12; // struct virtio_net_hdr with num_buffers (Section 5.1.6, VERSION_1)
const QSIZE = 16;
const BUF = 2048;

const sleep = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

class MiniVirtioNet {
  readonly bar: number;
  readonly common: DeviceMemory;
  readonly commonOff: number;
  readonly notifyBar: number;
  readonly notifyOff: number;
  readonly notifyMul: number;
  readonly mem: DmaMemory;
  offeredHi = 0;
  private readonly q: { desc: number; avail: number; used: number; next: number; notify: number }[] = [];

  constructor(
    readonly env: VfioEnvironment,
    readonly address: string,
  ) {
    // Section 4.1.4: walk the capability list for the common and notify structures
    let common: { bar: number; off: number } | undefined;
    let notify: { bar: number; off: number; mul: number } | undefined;
    for (let p = env.pciRead(address, 0x34, 1) & 0xfc; p !== 0; p = env.pciRead(address, p + 1, 1) & 0xfc) {
      if (env.pciRead(address, p, 1) !== CAP_VNDR) continue;
      const type = env.pciRead(address, p + 3, 1);
      const bar = env.pciRead(address, p + 4, 1);
      const off = env.pciRead(address, p + 8, 4);
      if (type === COMMON_CFG && common === undefined) common = { bar, off };
      if (type === NOTIFY_CFG && notify === undefined) notify = { bar, off, mul: env.pciRead(address, p + 16, 4) };
    }
    if (common === undefined || notify === undefined) throw new Error(`${address}: no virtio common/notify capability`);
    this.bar = common.bar;
    this.commonOff = common.off;
    this.common = new DeviceMemory(env.mapBar(address, common.bar));
    this.notifyBar = notify.bar;
    this.notifyOff = notify.off;
    this.notifyMul = notify.mul;
    this.mem = env.allocateDma(2 * 1024 * 1024);
    // PCI command register (PCI 3.0 Section 6.2.2): memory space (bit 1) and bus master (bit 2)
    env.pciWrite(address, 0x04, 2, env.pciRead(address, 0x04, 2) | 0x6);
  }

  r8(o: number): number { return this.env.barRead(this.address, this.bar, this.commonOff + o, 1); }
  w8(o: number, v: number): void { this.env.barWrite(this.address, this.bar, this.commonOff + o, 1, v); }
  r16(o: number): number { return this.env.barRead(this.address, this.bar, this.commonOff + o, 2); }
  w16(o: number, v: number): void { this.env.barWrite(this.address, this.bar, this.commonOff + o, 2, v); }
  w64(o: number, v: number): void {
    this.common.write32(this.commonOff + o, v % 2 ** 32);
    this.common.write32(this.commonOff + o + 4, Math.floor(v / 2 ** 32));
  }

  get status(): number {
    return this.r8(C.status);
  }

  /** Section 3.1.1 steps 1-8, with queues 0 (receiveq1) and 1 (transmitq1) of QSIZE entries in our DMA page. */
  bringUp(): void {
    this.w8(C.status, 0);
    for (let i = 0; i < 100 && this.r8(C.status) !== 0; i++) sleep(1);
    this.w8(C.status, ACKNOWLEDGE);
    this.w8(C.status, ACKNOWLEDGE | DRIVER);
    this.common.write32(this.commonOff + C.dfselect, 1);
    this.offeredHi = this.common.read32(this.commonOff + C.df);
    this.common.write32(this.commonOff + C.gfselect, 0);
    this.common.write32(this.commonOff + C.gf, 0);
    this.common.write32(this.commonOff + C.gfselect, 1);
    this.common.write32(this.commonOff + C.gf, this.offeredHi & (F_HI_VERSION_1 | F_HI_ACCESS_PLATFORM));
    this.w8(C.status, ACKNOWLEDGE | DRIVER | FEATURES_OK);
    if ((this.r8(C.status) & FEATURES_OK) === 0) throw new Error(`${this.address}: FEATURES_OK refused`);
    for (let qi = 0; qi < 2; qi++) {
      const base = qi * 0x10000; // per queue: desc at +0, avail at +0x1000, used at +0x2000, buffers from +0x4000
      this.w16(C.qselect, qi);
      const max = this.r16(C.qsize);
      if (max < QSIZE) throw new Error(`${this.address}: queue ${qi} has only ${max} entries`);
      this.w16(C.qsize, QSIZE);
      this.w64(C.qdesc, this.mem.phys + base);
      this.w64(C.qdriver, this.mem.phys + base + 0x1000);
      this.w64(C.qdevice, this.mem.phys + base + 0x2000);
      const notify = this.notifyOff + this.r16(C.qnotifyOff) * this.notifyMul;
      this.w16(C.qenable, 1);
      this.q.push({ desc: base, avail: base + 0x1000, used: base + 0x2000, next: 0, notify });
    }
    this.w8(C.status, ACKNOWLEDGE | DRIVER | FEATURES_OK | DRIVER_OK);
  }

  /** Byte offset in our page of buffer `slot` of queue `qi`. */
  bufferOffset(qi: number, slot: number): number {
    return qi * 0x10000 + 0x4000 + slot * BUF;
  }

  /** Put one descriptor (IOVA `addr`, `len` bytes) on queue `qi` and notify the device. */
  post(qi: number, addr: number, len: number, write: boolean): void {
    const q = this.q[qi];
    const slot = q.next++;
    const dv = new DataView(this.mem.buffer, this.mem.byteOffset);
    const d = q.desc + (slot % QSIZE) * 16;
    dv.setUint32(d, addr % 2 ** 32, true);
    dv.setUint32(d + 4, Math.floor(addr / 2 ** 32), true);
    dv.setUint32(d + 8, len, true);
    dv.setUint16(d + 12, write ? VIRTQ_DESC_F_WRITE : 0, true);
    dv.setUint16(d + 14, 0, true);
    dv.setUint16(q.avail + 4 + (slot % QSIZE) * 2, slot % QSIZE, true);
    // the index last (x86-64 keeps stores in order; Section 2.6.13 needs the ring entry visible first)
    Atomics.store(new Uint16Array(this.mem.buffer, this.mem.byteOffset + q.avail + 2, 1), 0, q.next & 0xffff);
    this.env.barWrite(this.address, this.notifyBar, q.notify, 2, qi);
  }

  usedIdx(qi: number): number {
    return Atomics.load(new Uint16Array(this.mem.buffer, this.mem.byteOffset + this.q[qi].used + 2, 1), 0);
  }

  usedLen(qi: number, k: number): number {
    return new DataView(this.mem.buffer, this.mem.byteOffset).getUint32(this.q[qi].used + 4 + (k % QSIZE) * 8 + 4, true);
  }
}

function waitFor(cond: () => boolean, ms: number): boolean {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (cond()) return true;
    sleep(5);
  }
  return cond();
}

function frame(marker: number): Uint8Array {
  const f = new Uint8Array(60);
  f.set([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x52, 0x54, 0x00, 0x74, 0x6e, 0x10, 0x88, 0xb5]);
  for (let i = 14; i < 60; i++) f[i] = (marker + i) & 0xff;
  return f;
}

function received(n: MiniVirtioNet, slot: number, f: Uint8Array): boolean {
  const at = n.mem.byteOffset + n.bufferOffset(0, slot) + NET_HDR;
  const got = new Uint8Array(n.mem.buffer, at, f.length);
  return got.every((b, i) => b === f[i]);
}

function main(): void {
  const addresses = process.argv.slice(2);
  const out: Record<string, unknown> = {};
  const env = new VfioEnvironment();
  out.groups = addresses.map((a) => iommuGroupInfo('/sys', a));
  out.ids = addresses.map((a) => env.pciRead32(a, 0).toString(16));
  out.configRegion = env.regionInfo(addresses[0], A.VFIO_PCI_CONFIG_REGION_INDEX);
  const nics = addresses.map((a) => new MiniVirtioNet(env, a));
  out.commonBar = env.regionInfo(addresses[0], nics[0].bar);
  // the same 32-bit register through the mapping and through pread of the region
  nics[0].common.write32(nics[0].commonOff + C.dfselect, 1);
  out.featuresHiMmap = nics[0].common.read32(nics[0].commonOff + C.df);
  out.featuresHiPread = env.barRead(addresses[0], nics[0].bar, nics[0].commonOff + C.df, 4);
  out.numQueues = nics[0].r16(C.numQueues);
  for (const n of nics) n.bringUp();
  out.offeredHi = nics.map((n) => n.offeredHi);
  out.statusUp = nics.map((n) => n.status);

  // Our page that the IOMMU will not map: filled with a pattern, then unmapped.
  const victim = env.allocateDma(2 * 1024 * 1024);
  const victimBytes = new Uint8Array(victim.buffer, victim.byteOffset, victim.byteLength);
  victimBytes.fill(0x5a);
  env.unmapDma(victim.buffer);
  const pm = new Pagemap('/proc/self/pagemap', 4096);
  const pa = (m: DmaMemory) => pm.readMany(shmAddon().addressOf(m.buffer) + m.byteOffset, 1)[0].pfn * 4096;
  out.iovas = nics.map((n) => n.mem.phys).concat([victim.phys]);
  out.physical = nics.map((n) => pa(n.mem));
  out.mappings = env.dmaMappings;

  const [tx, rx1, rx2] = nics;
  // 1. frame A: mapped everywhere
  for (const r of [rx1, rx2]) {
    r.post(0, r.mem.phys + r.bufferOffset(0, 0), BUF, true);
    r.post(0, r.mem.phys + r.bufferOffset(0, 1), BUF, true);
  }
  const a = frame(0xa0);
  new Uint8Array(tx.mem.buffer, tx.mem.byteOffset + tx.bufferOffset(1, 0), NET_HDR + 60).set(a, NET_HDR);
  tx.post(1, tx.mem.phys + tx.bufferOffset(1, 0), NET_HDR + 60, false);
  out.a = {
    sent: waitFor(() => tx.usedIdx(1) === 1, 20_000),
    rx1: waitFor(() => rx1.usedIdx(0) === 1, 20_000) && received(rx1, 0, a),
    rx2: waitFor(() => rx2.usedIdx(0) === 1, 20_000) && received(rx2, 0, a),
    rxLen: rx1.usedLen(0, 0),
  };

  // 2. NIC1 still has its mapped slot 1: frame B1 fills it, then NIC1's next descriptor (slot 2) points into the
  //    unmapped page and frame B follows.
  const b1 = frame(0xb0);
  new Uint8Array(tx.mem.buffer, tx.mem.byteOffset + tx.bufferOffset(1, 1), NET_HDR + 60).set(b1, NET_HDR);
  tx.post(1, tx.mem.phys + tx.bufferOffset(1, 1), NET_HDR + 60, false);
  const b1ok = waitFor(() => rx1.usedIdx(0) === 2 && rx2.usedIdx(0) === 2, 20_000);
  rx1.post(0, victim.phys + 4096, BUF, true);
  rx2.post(0, rx2.mem.phys + rx2.bufferOffset(0, 2), BUF, true);
  const b = frame(0xbb);
  new Uint8Array(tx.mem.buffer, tx.mem.byteOffset + tx.bufferOffset(1, 2), NET_HDR + 60).set(b, NET_HDR);
  tx.post(1, tx.mem.phys + tx.bufferOffset(1, 2), NET_HDR + 60, false);
  out.b = {
    warmup: b1ok,
    sent: waitFor(() => tx.usedIdx(1) === 3, 20_000),
    rx2: waitFor(() => rx2.usedIdx(0) === 3, 20_000) && received(rx2, 2, b),
  };
  sleep(2000);
  out.b = {
    ...(out.b as object),
    rx1Used: rx1.usedIdx(0),
    rx1Len: rx1.usedLen(0, 2),
    rx1Status: rx1.status,
    victimIntact: victimBytes.every((x) => x === 0x5a),
  };

  // 3. frame C: NIC0's transmit descriptor points at the unmapped page (it would send our memory's content)
  rx2.post(0, rx2.mem.phys + rx2.bufferOffset(0, 3), BUF, true);
  tx.post(1, victim.phys, NET_HDR + 60, false);
  sleep(3000);
  const got = new Uint8Array(rx2.mem.buffer, rx2.mem.byteOffset + rx2.bufferOffset(0, 3), NET_HDR + 60);
  out.c = {
    txUsed: tx.usedIdx(1),
    txStatus: tx.status,
    needsReset: (tx.status & NEEDS_RESET) !== 0,
    rx2Used: rx2.usedIdx(0),
    rx2Len: rx2.usedIdx(0) === 4 ? rx2.usedLen(0, 3) : 0,
    // what left through NIC0 and arrived at NIC2: none of it may be our unmapped page's content (0x5a)
    victimBytesSent: got.subarray(NET_HDR).filter((x) => x === 0x5a).length,
    sentHex: Buffer.from(got.subarray(NET_HDR, NET_HDR + 16)).toString('hex'),
  };
  out.victimIntact = victimBytes.every((x) => x === 0x5a);

  // 4. cleanup, and the groups are usable again
  for (const n of nics) n.w8(C.status, 0);
  env.close();
  const again = new VfioEnvironment();
  out.reopen = addresses.map((x) => again.pciRead32(x, 0).toString(16));
  out.reopenDma = again.allocateDma(64).phys;
  again.close();
  console.log(JSON.stringify(out));
}

main();
