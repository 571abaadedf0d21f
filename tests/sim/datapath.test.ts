// The DMA engine: descriptor formats byte by byte, null descriptors, head write-back, drops, CRC, padding,
// filtering, a ring shared between two NICs (all driven by hand).
import { CollectingOutput } from '../../src/sim/wire';
import { TrafficGenerator } from '../../src/sim/wires/generator';
import { Hand, R, RXB, TXB, allocRing, desc, frame, legacyTx, machine, macOf, referenceCrc32, setQ0, setupRx, setupTx } from './helpers';

describe('receive (Section 7.1)', () => {
  test('legacy descriptor write-back: Q0 untouched, length, DD|EOP, nothing else; frame in the buffer', () => {
    const m = machine();
    const h = new Hand(m);
    const ring = allocRing(m, 8);
    ring.words[2] = 0x12345678; // software's Q1 (e.g. an old transmit command) is overwritten, not interpreted
    setupRx(h, { ring });
    const f = frame(100, 3);
    h.input.push(f);
    m.advanceUs(1);
    const phys = ring.bufPhys(0);
    expect(desc(ring, 0)).toEqual([phys >>> 0, Math.floor(phys / 2 ** 32), 100, 0x3]);
    expect(Array.from(ring.buf(0).subarray(0, 100))).toEqual(Array.from(f));
    expect(h.read(RXB(0) + R.RDH_OFF)).toBe(1);
    expect(h.nic.stats).toMatchObject({ rxPackets: 1, rxBytes: 104, rxMissed: 0 });
    expect(h.read(R.GPRC)).toBe(1);
    expect(h.read(R.GORCL)).toBe(104);
    // bytes 8..15 exactly: length LE, checksum 0, status DD|EOP, errors 0, VLAN 0
    const bytes = new Uint8Array(ring.mem.buffer, ring.mem.byteOffset + 8, 8);
    expect(Array.from(bytes)).toEqual([100, 0, 0, 0, 0x03, 0, 0, 0]);
    expect(h.nic.violations).toEqual([]);
  });

  test('advanced one-buffer descriptor: read format Q0 = buffer; write-back status DD|EOP at byte 8, length at byte 12', () => {
    const m = machine();
    const h = new Hand(m);
    const ring = allocRing(m, 8);
    for (let i = 0; i < 8; i++) ring.words[i * 4 + 2] = ring.words[i * 4 + 3] = 0;
    setupRx(h, { ring, advanced: true });
    h.input.push(frame(61, 9));
    h.input.push(frame(1514, 10));
    m.advanceUs(1);
    expect(desc(ring, 0)).toEqual([0, 0, 0x3, 61]);
    expect(desc(ring, 1)).toEqual([0, 0, 0x3, 1514]);
    expect(Array.from(ring.buf(1).subarray(0, 1514))).toEqual(Array.from(frame(1514, 10)));
    expect(h.nic.violations).toEqual([]);
  });

  test('a frame larger than the buffer spans descriptors: EOP only on the last', () => {
    const m = machine();
    const h = new Hand(m);
    const ring = setupRx(h, { size: 8, bufferKb: 1 });
    const f = frame(1500, 4);
    h.input.push(f);
    m.advanceUs(1);
    expect(desc(ring, 0).slice(2)).toEqual([1024, 0x1]);
    expect(desc(ring, 1).slice(2)).toEqual([1500 - 1024, 0x3]);
    expect(Array.from(ring.buf(1).subarray(0, 476))).toEqual(Array.from(f.subarray(1024)));
    expect(h.nic.stats.rxPackets).toBe(1);
  });

  test('SRRCTL.DROP_EN: no free descriptor -> dropped and counted (QPRDC); later frames still received', () => {
    const m = machine();
    const h = new Hand(m);
    const ring = setupRx(h, { size: 8 });
    for (let i = 0; i < 10; i++) h.input.push(frame(64, i));
    m.advanceUs(1);
    expect(h.nic.stats.rxPackets).toBe(7); // RDT = 7: descriptors 0..6
    expect(h.nic.stats.rxMissed).toBe(3);
    expect(h.nic.stats.rxNoDescriptor).toBe(3);
    expect(h.read(R.QPRDC(0))).toBe(3);
    expect(h.input.pending).toBe(0);
    // give descriptors back: the next frame lands in descriptor 7
    for (let i = 0; i < 7; i++) ring.words[i * 4 + 3] = 0;
    h.write(RXB(0) + R.RDT_OFF, 6);
    h.input.push(frame(64, 42));
    m.advanceUs(1);
    expect(desc(ring, 7).slice(2)).toEqual([64, 0x3]);
    expect(ring.buf(7)[20]).toBe(frame(64, 42)[20]);
  });

  test('without DROP_EN the frame waits for a descriptor (input not read further)', () => {
    const m = machine();
    const h = new Hand(m);
    const ring = setupRx(h, { size: 8, dropEnable: false });
    for (let i = 0; i < 9; i++) h.input.push(frame(64, i));
    m.advanceUs(1);
    expect(h.nic.stats.rxPackets).toBe(7);
    expect(h.nic.stats.rxMissed).toBe(0);
    expect(h.input.pending).toBe(1); // one frame held inside the NIC, one still on the wire
    h.write(RXB(0) + R.RDT_OFF, 1);
    m.advanceUs(1);
    expect(h.nic.stats.rxPackets).toBe(9);
    expect(ring.buf(0)[30]).toBe(frame(64, 8)[30]);
  });

  test('receive disabled (RXEN = 0 or SECRXCTRL.RX_DIS) drops frames as missed (MPC)', () => {
    const m = machine();
    const h = new Hand(m);
    setupRx(h);
    h.clear(R.RXCTRL, R.RXCTRL_RXEN);
    h.input.push(frame(64));
    m.advanceUs(1);
    h.set(R.RXCTRL, R.RXCTRL_RXEN);
    h.set(R.SECRXCTRL, R.SECRXCTRL_RX_DIS);
    h.input.push(frame(64));
    m.advanceUs(1);
    expect(h.nic.stats).toMatchObject({ rxPackets: 0, rxMissed: 2 });
    expect(h.read(R.MPC(0))).toBe(2);
  });

  test('CRC strip off (HLREG0 and RDRXCTL both 0): the frame is followed by its real CRC-32', () => {
    const m = machine();
    const h = new Hand(m);
    h.clear(R.HLREG0, R.HLREG0_RXCRCSTRP);
    const ring = setupRx(h, { crcStrip: false });
    const f = frame(60, 5);
    h.input.push(f);
    m.advanceUs(1);
    expect(desc(ring, 0).slice(2)).toEqual([64, 0x3]);
    const fcs = referenceCrc32(f);
    expect(Array.from(ring.buf(0).subarray(60, 64))).toEqual([fcs & 0xff, (fcs >>> 8) & 0xff, (fcs >>> 16) & 0xff, fcs >>> 24]);
    expect(h.nic.violations).toEqual([]);
  });

  test('L2 filter: unicast only to RAL/RAH(0) unless UPE; broadcast with BAM; multicast with MPE', () => {
    const m = machine();
    const h = new Hand(m);
    const ring = setupRx(h, { size: 16, promiscuous: false });
    const mine = macOf(h);
    h.input.push(frame(64, 1, mine));
    h.input.push(frame(64, 2, [0x02, 9, 9, 9, 9, 9])); // someone else's
    h.input.push(frame(64, 3, [0xff, 0xff, 0xff, 0xff, 0xff, 0xff])); // broadcast, BAM = 0
    h.input.push(frame(64, 4, [0x01, 0x00, 0x5e, 0, 0, 1])); // multicast, MPE = 0
    m.advanceUs(1);
    expect(h.nic.stats).toMatchObject({ rxPackets: 1, rxFiltered: 3, rxMissed: 3 });
    expect(ring.buf(0)[20]).toBe(frame(64, 1)[20]);
    h.clear(R.RXCTRL, R.RXCTRL_RXEN); // Section 8.2.3.7.1: change filters with RXEN = 0
    h.poll();
    h.set(R.FCTRL, R.FCTRL_BAM);
    h.poll();
    h.set(R.RXCTRL, R.RXCTRL_RXEN);
    h.input.push(frame(64, 5, [0xff, 0xff, 0xff, 0xff, 0xff, 0xff]));
    h.input.push(frame(64, 6, [0x01, 0x00, 0x5e, 0, 0, 1]));
    m.advanceUs(1);
    expect(h.nic.stats).toMatchObject({ rxPackets: 2, rxFiltered: 4 });
    h.clear(R.RXCTRL, R.RXCTRL_RXEN);
    h.poll();
    h.set(R.FCTRL, R.FCTRL_UPE | R.FCTRL_MPE);
    h.poll();
    h.set(R.RXCTRL, R.RXCTRL_RXEN);
    h.input.push(frame(64, 7, [0x02, 9, 9, 9, 9, 9]));
    h.input.push(frame(64, 8, [0x01, 0x00, 0x5e, 0, 0, 1]));
    m.advanceUs(1);
    expect(h.nic.stats).toMatchObject({ rxPackets: 4, rxFiltered: 4 });
    expect(h.nic.warnings.map((w) => w.rule)).not.toContain('filter-changed-while-receiving');
    expect(h.nic.violations).toEqual([]);
  });
});

describe('the receive packet buffer (nic-receive.ts backlogFloor)', () => {
  // 60-byte frames (64 with the FCS) at 10 Gb/s: preamble, FCS and inter-frame gap included
  const FRAME_NS = (60 + 4 + 20) * 0.8;
  const LONG_POLL_NS = 40_000;
  const CATCH_UP_POLLS = 40;

  /**
   * A line-rate input from the first poll, a poll LONG_POLL_NS after it (a simulator thread that lost the CPU),
   * then a poll every microsecond. Returns the frames that arrived (received, or dropped for want of a descriptor
   * and counted), the most one poll took, and the last poll's time after the first (ns).
   */
  function arrived(engines: boolean, rxpbsize?: number): { frames: number; maxPerPoll: number; lastNs: number } {
    const m = machine({ engines });
    const h = new Hand(m);
    setupRx(h, { size: 1024, dropEnable: true });
    if (rxpbsize !== undefined) h.write(R.RXPBSIZE(0), rxpbsize);
    const t0 = m.nowNs();
    h.nic.attachInput(new TrafficGenerator({ frameSize: 60, rate: 'line-rate', startNs: t0 }));
    const total = (): number => h.nic.stats.rxPackets + h.nic.stats.rxNoDescriptor;
    h.nic.poll(t0);
    let maxPerPoll = total();
    let t = LONG_POLL_NS;
    for (let k = 0; k <= CATCH_UP_POLLS; k++, t += 1000) {
      const before = total();
      h.nic.poll(t0 + t);
      maxPerPoll = Math.max(maxPerPoll, total() - before);
    }
    expect(h.nic.violations).toEqual([]);
    return { frames: total(), maxPerPoll, lastNs: t - 1000 };
  }

  test.each([
    ['the WebAssembly engine', true],
    ['the JavaScript path', false],
  ])('%s: frames that arrived while the NIC was not polled wait in it, and no wire time is lost', (_name, engines) => {
    const r = arrived(engines);
    // every frame the wire carried from the first poll to the last arrived (received, or dropped for want of a
    // descriptor and counted), though no poll took more than a burst (RX_BURST = 64)
    expect(r.maxPerPoll).toBe(64);
    expect(Math.abs(r.frames - (Math.floor(r.lastNs / FRAME_NS) + 1))).toBeLessThanOrEqual(1);
  });

  test.each([
    ['the WebAssembly engine', true],
    ['the JavaScript path', false],
  ])('%s: the buffer holds RXPBSIZE(0) bytes of wire time (8 KB: 6.55 us), the rest of the backlog is delayed', (_name, engines) => {
    const r = arrived(engines, 8 << 10);
    const bufferNs = 8 * 1024 * 0.8;
    // the long poll took one burst; the next ones go on from the buffer's start, not from the first burst's end
    const expected = 1 + 64 + Math.floor((r.lastNs - (LONG_POLL_NS - bufferNs)) / FRAME_NS);
    expect(Math.abs(r.frames - expected)).toBeLessThanOrEqual(2);
    expect(r.frames).toBeLessThan(arrived(engines).frames - 400);
  });
});

describe('transmit (Section 7.2)', () => {
  test('legacy descriptor: the buffer goes out byte-equal; DD written back only with RS (no head write-back)', () => {
    const m = machine();
    const h = new Hand(m);
    const ring = setupTx(h, { size: 8 });
    const f = frame(100, 2);
    ring.buf(0).set(f);
    ring.buf(1).set(frame(80, 3));
    legacyTx(ring, 0, 100, false);
    legacyTx(ring, 1, 80, true);
    h.write(TXB(0) + R.TDT_OFF, 2);
    m.advanceUs(1);
    expect(h.output.frames.map((x) => Array.from(x))).toEqual([Array.from(f), Array.from(frame(80, 3))]);
    const p0 = ring.bufPhys(0);
    expect(desc(ring, 0)).toEqual([p0 >>> 0, Math.floor(p0 / 2 ** 32), (100 | R.TX_CMD_EOP | R.TX_CMD_IFCS) >>> 0, 0]);
    expect(desc(ring, 1)[3]).toBe(R.TX_W3_DD);
    expect(h.read(TXB(0) + R.TDH_OFF)).toBe(2);
    expect(h.nic.stats).toMatchObject({ txPackets: 2, txBytes: 104 + 84 });
    expect(h.read(R.GPTC)).toBe(2);
    expect(h.read(R.GOTCL)).toBe(188);
  });

  test('advanced data descriptor (DEXT, DTYP 0011): sent; DD written back in the write-back format; context descriptors carry no data', () => {
    const m = machine();
    const h = new Hand(m);
    const ring = setupTx(h, { size: 8 });
    ring.buf(1).set(frame(200, 6));
    // a context descriptor (DTYP 0010) first
    ring.words[2] = (R.TX_CMD_DEXT | (0x2 << R.TX_ADV_DTYP_SHIFT)) >>> 0;
    ring.words[3] = 0;
    ring.words[6] = (200 | (0x3 << R.TX_ADV_DTYP_SHIFT) | R.TX_CMD_EOP | R.TX_CMD_IFCS | R.TX_CMD_RS | R.TX_CMD_DEXT) >>> 0;
    ring.words[7] = 200 << 14; // PAYLEN
    h.write(TXB(0) + R.TDT_OFF, 2);
    m.advanceUs(1);
    expect(h.output.frames.length).toBe(1);
    expect(Array.from(h.output.frames[0])).toEqual(Array.from(frame(200, 6)));
    expect(desc(ring, 1).slice(2)).toEqual([ring.words[6], R.TX_W3_DD]);
    expect(h.nic.stats.txNullDescriptors).toBe(0);
  });

  test('null descriptors (length 0) are consumed, nothing is sent, they are counted', () => {
    const m = machine();
    const h = new Hand(m);
    const ring = setupTx(h, { size: 8 });
    ring.buf(1).set(frame(70, 1));
    legacyTx(ring, 0, 0);
    legacyTx(ring, 1, 70);
    legacyTx(ring, 2, 0, true);
    h.write(TXB(0) + R.TDT_OFF, 3);
    m.advanceUs(1);
    expect(h.output.frames.length).toBe(1);
    expect(h.nic.stats).toMatchObject({ txPackets: 1, txNullDescriptors: 2 });
    expect(h.read(TXB(0) + R.TDH_OFF)).toBe(3);
  });

  test('head write-back: the head after each RS descriptor, and no descriptor write-back at all', () => {
    const m = machine();
    const h = new Hand(m);
    const head = m.allocateDma(64);
    const headWord = new Uint32Array(head.buffer, head.byteOffset, 1);
    headWord[0] = 0xdeadbeef;
    const ring = setupTx(h, { size: 16, headPhys: head.phys });
    for (let i = 0; i < 6; i++) legacyTx(ring, i, 64, i === 3);
    const before = Array.from(ring.words);
    h.write(TXB(0) + R.TDT_OFF, 2);
    m.advanceUs(1);
    expect(headWord[0]).toBe(0xdeadbeef); // no RS yet: nothing written
    h.write(TXB(0) + R.TDT_OFF, 6);
    m.advanceUs(1);
    expect(headWord[0]).toBe(4); // one past the RS descriptor 3
    expect(Array.from(ring.words)).toEqual(before); // descriptors untouched
    expect(h.read(TXB(0) + R.TDH_OFF)).toBe(6);
    expect(h.nic.violations).toEqual([]);
  });

  test('head write-back to an address whose low half has bit 31 set (TDWBAL read as unsigned)', () => {
    // DMA memory at 0x2_8000_0000: TDWBAL = 0x800xxxx1 (a negative int32 if misread)
    const m = machine({ physBase: 0x2_8000_0000 });
    const h = new Hand(m);
    const head = m.allocateDma(64);
    expect(head.phys >>> 0).toBeGreaterThanOrEqual(0x8000_0000);
    const headWord = new Uint32Array(head.buffer, head.byteOffset, 1);
    const ring = setupTx(h, { size: 8, headPhys: head.phys });
    legacyTx(ring, 0, 64, true);
    h.write(TXB(0) + R.TDT_OFF, 1);
    m.advanceUs(1);
    expect(h.nic.violations).toEqual([]);
    expect(headWord[0]).toBe(1);
  });

  test('short frames are padded to 60 bytes (64 with FCS) with HLREG0.TXPADEN, not without', () => {
    const m = machine();
    const h = new Hand(m);
    const ring = setupTx(h, { size: 8 });
    ring.buf(0).set(frame(42, 1));
    ring.buf(0).fill(0xee, 42, 60); // stale bytes after the frame must not leak
    legacyTx(ring, 0, 42);
    h.write(TXB(0) + R.TDT_OFF, 1);
    m.advanceUs(1);
    expect(h.output.frames[0].length).toBe(60);
    expect(Array.from(h.output.frames[0].subarray(0, 42))).toEqual(Array.from(frame(42, 1)));
    expect(h.output.frames[0].subarray(42).every((b) => b === 0)).toBe(true);
    expect(h.nic.stats.txBytes).toBe(64);
    h.clear(R.HLREG0, R.HLREG0_TXPADEN);
    legacyTx(ring, 1, 42);
    ring.buf(1).set(frame(42, 1));
    h.write(TXB(0) + R.TDT_OFF, 2);
    m.advanceUs(1);
    expect(h.output.frames[1].length).toBe(42);
  });

  test('without IFCS the buffer ends with software\'s FCS, which is not part of the wire frame', () => {
    const m = machine();
    const h = new Hand(m);
    const ring = setupTx(h, { size: 8 });
    ring.buf(0).set(frame(68, 1));
    ring.words[2] = (68 | R.TX_CMD_EOP) >>> 0;
    h.write(TXB(0) + R.TDT_OFF, 1);
    m.advanceUs(1);
    expect(h.output.frames[0].length).toBe(64);
    expect(h.nic.stats.txBytes).toBe(68);
  });

  test('a frame over several descriptors is gathered until EOP', () => {
    const m = machine();
    const h = new Hand(m);
    const ring = setupTx(h, { size: 8 });
    const f = frame(300, 8);
    ring.buf(0).set(f.subarray(0, 100));
    ring.buf(1).set(f.subarray(100));
    legacyTx(ring, 0, 100, false, false);
    legacyTx(ring, 1, 200, true, true);
    h.write(TXB(0) + R.TDT_OFF, 2);
    m.advanceUs(1);
    expect(h.output.frames.map((x) => Array.from(x))).toEqual([Array.from(f)]);
  });

  test('line-rate pacing: 64-byte frames leave 67.2 ns apart; a given Mpps is honoured', () => {
    const m = machine();
    const h = new Hand(m);
    const ring = setupTx(h, { size: 64 });
    h.nic.setTxPacing('line-rate');
    for (let i = 0; i < 40; i++) legacyTx(ring, i, 60);
    h.write(TXB(0) + R.TDT_OFF, 40);
    m.advanceUs(1);
    expect(h.output.frames.length).toBeGreaterThanOrEqual(14);
    expect(h.output.frames.length).toBeLessThanOrEqual(16);
    const t = h.output.timesNs;
    expect(t[2] - t[1]).toBeCloseTo(67.2, 5);
    m.advanceUs(10);
    expect(h.output.frames.length).toBe(40);
    h.nic.setTxPacing(1); // 1 Mpps
    h.output.take();
    for (let i = 40; i < 60; i++) legacyTx(ring, i, 60);
    h.write(TXB(0) + R.TDT_OFF, 60);
    m.advanceUs(10);
    expect(h.output.frames.length).toBeGreaterThanOrEqual(9);
    expect(h.output.frames.length).toBeLessThanOrEqual(11);
  });

  test('HLREG0.LPBK loops transmitted frames back to receive instead of the wire', () => {
    const m = machine();
    const h = new Hand(m);
    const rx = setupRx(h, { size: 8 });
    const tx = setupTx(h, { size: 8 });
    h.set(R.HLREG0, R.HLREG0_LPBK);
    tx.buf(0).set(frame(90, 4));
    legacyTx(tx, 0, 90);
    h.write(TXB(0) + R.TDT_OFF, 1);
    m.advanceUs(1);
    expect(h.output.frames.length).toBe(0);
    expect(desc(rx, 0).slice(2)).toEqual([90, 0x3]);
    expect(Array.from(rx.buf(0).subarray(0, 90))).toEqual(Array.from(frame(90, 4)));
  });
});

describe('a ring shared by NIC A receive and NIC B transmit (TinyNF, Section 5 of the behaviour note)', () => {
  test('frames received on A go out of B from the same descriptors and buffers, heads written back, no violation', () => {
    const m = machine();
    const a = new Hand(m, 0);
    const b = new Hand(m, 1);
    const out = new CollectingOutput();
    b.nic.attachOutput(out);
    const size = 64;
    const ring = allocRing(m, size);
    const head = m.allocateDma(64);
    const headWord = new Uint32Array(head.buffer, head.byteOffset, 1);
    setupTx(b, { ring, headPhys: head.phys });
    setupRx(a, { ring });
    let processed = 0;
    let tail = size - 1;
    for (let round = 0; round < 50; round++) {
      for (let k = 0; k < 10; k++) a.input.push(frame(64 + ((round * 10 + k) % 50), round * 10 + k));
      m.advanceUs(2);
      // the agent: every received descriptor becomes a transmit descriptor (RS every 16th), then TDT
      while ((ring.words[(processed % size) * 4 + 3] & R.RX_LEGACY_W3_DD) !== 0) {
        const i = processed % size;
        const length = ring.words[i * 4 + 2] & 0xffff;
        legacyTx(ring, i, length, i % 16 === 15);
        processed++;
      }
      b.write(TXB(0) + R.TDT_OFF, processed % size);
      m.advanceUs(2);
      // recycle: give back what B has sent (head - 1)
      const newTail = (headWord[0] - 1 + size) % size;
      if (newTail !== tail) {
        tail = newTail;
        a.write(RXB(0) + R.RDT_OFF, tail);
      }
    }
    m.advanceUs(5);
    expect(out.frames.length).toBe(processed);
    expect(processed).toBeGreaterThan(400);
    expect(out.frames.map((f) => f[20])).toEqual(Array.from({ length: processed }, (_, n) => frame(64 + (n % 50), n)[20]));
    expect(m.violations).toEqual([]);
  });
});

describe('descriptor buffer addresses', () => {
  test('a buffer in a registered extra region (e.g. a hugepage) is usable', () => {
    const m = machine();
    const h = new Hand(m);
    const extra = new SharedArrayBuffer(1 << 16);
    m.addRegion(0x7_0000_0000, extra, 0, extra.byteLength);
    const ring = allocRing(m, 8);
    setQ0(ring, 0, 0x7_0000_0000 + 4096);
    setupRx(h, { ring });
    h.input.push(frame(64, 11));
    m.advanceUs(1);
    expect(new Uint8Array(extra, 4096, 64)).toEqual(frame(64, 11));
    const tx = setupTx(h, { size: 8 });
    setQ0(tx, 0, 0x7_0000_0000 + 4096);
    legacyTx(tx, 0, 64);
    h.write(TXB(0) + R.TDT_OFF, 1);
    m.advanceUs(1);
    expect(h.output.frames[0]).toEqual(frame(64, 11));
    expect(m.violations).toEqual([]);
  });
});
