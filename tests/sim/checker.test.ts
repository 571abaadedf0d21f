// The conformance checker: each rule is broken on purpose (registers driven by hand) and must be reported with its
// register/descriptor and data-sheet section; the correct sequence next to it must not be.
import { TinyNfError } from '../../src/env/environment';
import { RULES } from '../../src/sim/checker';
import { Hand, R, RXB, TXB, allocRing, frame, legacyTx, machine, setQ0, setupRx, setupTx } from './helpers';

function writeRing(h: Hand, base: number, phys: number, bytes: number): void {
  h.write(base + R.RDBAH_OFF, Math.floor(phys / 2 ** 32));
  h.write(base + R.RDBAL_OFF, phys >>> 0);
  h.write(base + R.RDLEN_OFF, bytes);
}

describe('initialisation order (Sections 4.6.7, 4.6.8)', () => {
  test('queue enabled before its ring base and length', () => {
    const h = new Hand(machine());
    h.busMaster();
    h.set(RXB(2) + R.RXDCTL_OFF, R.XDCTL_ENABLE);
    h.poll();
    expect(h.rules()).toEqual(['queue-enabled-without-ring']);
    expect(h.nic.violations[0]).toMatchObject({ where: 'RXDCTL(2)', section: RULES['queue-enabled-without-ring'][0], nic: h.address });
  });

  test('RDT written non-zero before RXDCTL.ENABLE', () => {
    const m = machine();
    const h = new Hand(m);
    h.busMaster();
    const ring = allocRing(m, 8);
    writeRing(h, RXB(0), ring.mem.phys, 128);
    h.write(RXB(0) + R.RDT_OFF, 7);
    h.poll();
    h.set(RXB(0) + R.RXDCTL_OFF, R.XDCTL_ENABLE);
    h.poll();
    expect(h.rules()).toEqual(['rx-tail-before-enable']);
    expect(h.nic.violations[0].where).toBe('RDT(0)');
  });

  test('ENABLE then RDT in the same poll interval (ENABLE could not have been read back as 1)', () => {
    const m = machine();
    const h = new Hand(m);
    h.busMaster();
    const ring = allocRing(m, 8);
    writeRing(h, RXB(0), ring.mem.phys, 128);
    h.set(RXB(0) + R.RXDCTL_OFF, R.XDCTL_ENABLE);
    h.write(RXB(0) + R.RDT_OFF, 7);
    h.poll();
    expect(h.rules()).toEqual(['tail-and-enable-same-poll']);
  });

  test('the correct receive sequence is silent', () => {
    const h = new Hand(machine());
    setupRx(h);
    expect(h.nic.violations).toEqual([]);
    expect(h.nic.warnings).toEqual([]);
  });

  test('TXDCTL.ENABLE before DMATXCTL.TE', () => {
    const m = machine();
    const h = new Hand(m);
    h.busMaster();
    const ring = allocRing(m, 8);
    writeRing(h, TXB(0), ring.mem.phys, 128);
    h.set(TXB(0) + R.TXDCTL_OFF, R.XDCTL_ENABLE);
    h.poll();
    h.set(R.DMATXCTL, R.DMATXCTL_TE);
    h.poll();
    expect(h.rules()).toEqual(['tx-enable-before-te']);
  });

  test('TE and ENABLE in one poll interval are judged in the data sheet order (TE first): silent', () => {
    const h = new Hand(machine());
    setupTx(h); // sets TE then ENABLE without a poll in between, as TinyNF does
    expect(h.nic.violations).toEqual([]);
  });

  test('TDT written while the queue is disabled', () => {
    const m = machine();
    const h = new Hand(m);
    h.write(TXB(3) + R.TDT_OFF, 4);
    h.poll();
    expect(h.rules()).toEqual(['tx-tail-before-enable']);
    expect(h.nic.violations[0].where).toBe('TDT(3)');
  });

  test('ring base not 128-byte aligned; length not a multiple of 128; ring outside DMA memory', () => {
    const m = machine();
    const h = new Hand(m);
    h.busMaster();
    const ring = allocRing(m, 16);
    writeRing(h, RXB(1), ring.mem.phys + 64, 128);
    h.set(RXB(1) + R.RXDCTL_OFF, R.XDCTL_ENABLE);
    writeRing(h, TXB(1), ring.mem.phys, 200);
    h.set(R.DMATXCTL, R.DMATXCTL_TE);
    h.set(TXB(1) + R.TXDCTL_OFF, R.XDCTL_ENABLE);
    writeRing(h, TXB(2), 0x1000, 128);
    h.set(TXB(2) + R.TXDCTL_OFF, R.XDCTL_ENABLE);
    h.poll();
    expect(h.rules()).toEqual(['ring-misaligned', 'ring-length', 'ring-outside-dma']);
  });

  test('head write-back address not 16-byte aligned: flagged, and (like the hardware) nothing is written', () => {
    const m = machine();
    const h = new Hand(m);
    const head = m.allocateDma(64);
    const words = new Uint32Array(head.buffer, head.byteOffset, 4);
    words.fill(0x77);
    const ring = setupTx(h, { size: 8, headPhys: head.phys + 4 });
    legacyTx(ring, 0, 64, true);
    h.write(TXB(0) + R.TDT_OFF, 1);
    m.advanceUs(1);
    expect(h.rules()).toEqual(['head-writeback-misaligned']);
    expect(Array.from(words)).toEqual([0x77, 0x77, 0x77, 0x77]);
    expect(h.output.frames.length).toBe(1);
  });

  test('ring registers written while the queue is enabled', () => {
    const h = new Hand(machine());
    setupRx(h);
    h.write(RXB(0) + R.RDLEN_OFF, 256);
    h.write(RXB(0) + R.SRRCTL_OFF, 4);
    h.poll();
    expect(h.rules()).toEqual(['ring-registers-while-enabled', 'ring-registers-while-enabled']);
  });

  test('CRC strip mismatch between HLREG0.RXCRCSTRP and RDRXCTL.CRCStrip while receiving', () => {
    const h = new Hand(machine());
    setupRx(h);
    h.clear(R.HLREG0, R.HLREG0_RXCRCSTRP);
    h.poll();
    expect(h.rules()).toEqual(['crc-strip-mismatch']);
  });

  test('registers written while PCI memory access is disabled', () => {
    const m = machine();
    const h = new Hand(m);
    m.configWrite32(h.address, 0x04, 0);
    h.write(R.FCTRL, R.FCTRL_BAM);
    h.poll();
    expect(h.rules()).toEqual(['memory-access-disabled']);
  });
});

describe('run time', () => {
  test('RDT moved backwards past the head / beyond the ring', () => {
    const m = machine();
    const h = new Hand(m);
    setupRx(h, { size: 8 });
    for (let i = 0; i < 3; i++) h.input.push(frame(64, i));
    m.advanceUs(1); // RDH = 3, RDT = 7
    h.write(RXB(0) + R.RDT_OFF, 5); // takes back 5 and 6
    h.poll();
    h.write(RXB(0) + R.RDT_OFF, 9);
    h.poll();
    expect(h.rules()).toEqual(['rx-tail-backwards', 'rx-tail-out-of-ring']);
  });

  test('RDT moved forward within what software owns is fine; onto the head is not', () => {
    const m = machine();
    const h = new Hand(m);
    setupRx(h, { size: 8, noTail: true });
    h.write(RXB(0) + R.RDT_OFF, 4);
    h.poll();
    expect(h.rules()).toEqual([]);
    for (let i = 0; i < 4; i++) h.input.push(frame(64, i));
    m.advanceUs(1); // RDH = 4 = RDT
    h.write(RXB(0) + R.RDT_OFF, 3); // gives 7 of the 8 (4..7, 0..2): legal
    h.poll();
    expect(h.rules()).toEqual([]);
    h.write(RXB(0) + R.RDT_OFF, 4); // onto RDH: would give all 8, but RDT == RDH means "none"
    h.poll();
    expect(h.rules()).toEqual(['rx-tail-backwards']);
  });

  test('TDT moved backwards (taking back descriptors the NIC has not sent)', () => {
    const m = machine();
    const h = new Hand(m);
    const ring = setupTx(h, { size: 8 });
    h.nic.setTxPacing(0.001); // one frame per ms: the rest stay queued
    for (let i = 0; i < 6; i++) legacyTx(ring, i, 64);
    h.write(TXB(0) + R.TDT_OFF, 6);
    m.advanceUs(1);
    h.write(TXB(0) + R.TDT_OFF, 3);
    h.poll();
    h.write(TXB(0) + R.TDT_OFF, 8);
    h.poll();
    expect(h.rules()).toEqual(['tx-tail-backwards', 'tx-tail-out-of-ring']);
  });

  test('a transmit descriptor modified while the NIC owns it', () => {
    const m = machine();
    const h = new Hand(m);
    const ring = setupTx(h, { size: 8 });
    h.nic.setTxPacing(0.001);
    for (let i = 0; i < 4; i++) legacyTx(ring, i, 64);
    h.write(TXB(0) + R.TDT_OFF, 4);
    m.advanceUs(1); // descriptor 0 sent (read at the poll that saw TDT); 1..3 owned by the NIC, fetched at that poll
    legacyTx(ring, 2, 99);
    legacyTx(ring, 0, 99); // the driver's again once sent: not a violation
    m.advanceUs(3000);
    expect(h.rules()).toEqual(['descriptor-modified-while-owned']);
    expect(h.nic.violations[0].where).toBe('TX ring 0 descriptor 2');
  });

  test('a receive descriptor modified while the NIC owns it', () => {
    const m = machine();
    const h = new Hand(m);
    const ring = setupRx(h, { size: 8 });
    setQ0(ring, 1, ring.bufPhys(5));
    h.input.push(frame(64, 1));
    h.input.push(frame(64, 2));
    m.advanceUs(1);
    expect(h.rules()).toEqual(['descriptor-modified-while-owned']);
    expect(h.nic.violations[0].where).toBe('RX ring 0 descriptor 1');
  });

  test('buffer address 0 or outside DMA memory', () => {
    const m = machine();
    const h = new Hand(m);
    const ring = allocRing(m, 8);
    setQ0(ring, 0, 0);
    setQ0(ring, 1, 0x1234_0000);
    setupRx(h, { ring });
    h.input.push(frame(64, 1));
    h.input.push(frame(64, 2));
    m.advanceUs(1);
    expect(h.rules()).toEqual(['buffer-address-invalid', 'buffer-address-invalid']);
    expect(h.nic.stats.dmaErrors).toBe(2);
    const tx = setupTx(h, { size: 8 });
    setQ0(tx, 0, 0);
    legacyTx(tx, 0, 64);
    h.write(TXB(0) + R.TDT_OFF, 1);
    m.advanceUs(1);
    expect(h.rules().length).toBe(3);
    expect(h.output.frames.length).toBe(0);
  });

  test('DMA needed while PCI bus mastering is off: reported once, nothing moves', () => {
    const m = machine();
    const h = new Hand(m);
    const ring = setupRx(h, { size: 8 });
    h.busMaster(false);
    h.input.push(frame(64, 1));
    h.input.push(frame(64, 2));
    m.advanceUs(1);
    expect(h.rules()).toEqual(['bus-master-disabled']);
    expect(ring.words[3]).toBe(0);
    expect(h.nic.stats.rxMissed).toBe(2);
  });

  test('strict mode throws a TinyNfError naming the rule and section', () => {
    const m = machine({ strict: true });
    const h = new Hand(m);
    h.write(TXB(0) + R.TDT_OFF, 1);
    expect(() => m.step()).toThrow(TinyNfError);
    h.write(TXB(0) + R.TDT_OFF, 2);
    expect(() => m.step()).toThrow(/tx-tail-before-enable at TDT\(0\) \(Section 4\.6\.8\)/);
  });
});
