// Fidelity defects found by foreign drivers (issue 15): statistics cleared by CTRL.RST and by a driver's read,
// oversize frames dropped and counted (MAXFRS / HLREG0.JUMBOEN), a complete reset after a stall, reset pulses the
// device cannot see reported where it can tell. Driven by hand on the inline machine.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { TinyNfError } from '../../src/env/environment';
import { SimulatedEnvironment } from '../../src/env/simulated';
import { PcapInput, PcapWriter } from '../../src/sim/wires/pcap';
import { DriverPorts as Ports } from '../../src/app/driver-ports';
import { NETWORK_FUNCTIONS } from '../../src/nf';
import { CoarseClock } from '../../src/nf/lib/coarse-clock';
import { SimMachine } from '../../src/sim/machine';
import { createInput } from '../../src/sim/wires/describe';
import { Hand, R, RXB, frame, legacyTx, machine, setupRx, setupTx } from './helpers';

describe('statistics registers (Section 8.2.3.23: read-to-clear, reset by CTRL.RST)', () => {
  test("a driver's read (the environment's readStatistic32) returns the count since the last read and clears it", () => {
    const m = machine();
    const h = new Hand(m);
    setupRx(h, { size: 16 });
    for (let i = 0; i < 5; i++) h.input.push(frame(60, i), m.nowNs());
    m.advanceUs(20);
    const env = new SimulatedEnvironment(m);
    const bar0 = { read32: (o: number) => h.read(o) } as never;
    expect(env.readStatistic32(h.address, bar0, R.GPRC)).toBe(5);
    expect(env.readStatistic32(h.address, bar0, R.GPRC)).toBe(0);
    expect(h.read(R.GPRC)).toBe(0); // the register file agrees at once
    for (let i = 0; i < 3; i++) h.input.push(frame(100, i), m.nowNs());
    m.advanceUs(20);
    // octets (frame + FCS each) were not read yet: all eight frames; the 36-bit counter is read low then high
    expect(m.readStatistic32(h.address, R.GORCL)).toBe(5 * 64 + 3 * 104);
    expect(m.readStatistic32(h.address, R.GORCH)).toBe(0);
    expect(m.readStatistic32(h.address, R.GORCL)).toBe(0);
    expect(m.readStatistic32(h.address, R.GPRC)).toBe(3);
    // the simulator's own totals are not the registers: they are never cleared
    expect(h.nic.stats.rxPackets).toBe(8);
  });

  test('drop counters kept in the register file (QPRDC) are cleared by a read too', () => {
    const m = machine();
    const h = new Hand(m);
    setupRx(h, { size: 8, noTail: true, dropEnable: true });
    for (let i = 0; i < 4; i++) h.input.push(frame(60, i), m.nowNs());
    m.advanceUs(20);
    expect(m.readStatistic32(h.address, R.QPRDC(0))).toBe(4);
    expect(m.readStatistic32(h.address, R.QPRDC(0))).toBe(0);
    expect(h.read(R.QPRDC(0))).toBe(0);
  });

  test('CTRL.RST clears every statistics register, and counting restarts from 0 after it', () => {
    const m = machine();
    const h = new Hand(m);
    setupRx(h, { size: 16 });
    for (let i = 0; i < 6; i++) h.input.push(frame(60, i), m.nowNs());
    m.advanceUs(20);
    expect(h.read(R.GPRC)).toBe(6); // mirrored into the register file for drivers reading BAR0 directly
    h.set(R.CTRL, R.CTRL_MASTER_DISABLE);
    h.poll();
    h.set(R.CTRL, R.CTRL_RST);
    m.advanceUs(2000);
    expect(h.read(R.GPRC)).toBe(0);
    expect(h.read(R.GORCL)).toBe(0);
    expect(m.readStatistic32(h.address, R.GPRC)).toBe(0);
    setupRx(h, { size: 16 });
    for (let i = 0; i < 2; i++) h.input.push(frame(60, i), m.nowNs());
    m.advanceUs(20);
    expect(h.read(R.GPRC)).toBe(2);
    expect(m.readStatistic32(h.address, R.GPRC)).toBe(2);
    expect(h.nic.stats.rxPackets).toBe(8);
  });
});

describe('oversize frames (Section 8.2.3.22.8 HLREG0.JUMBOEN, 8.2.3.22.13 MAXFRS)', () => {
  test('without JUMBOEN a frame over 1518 bytes (FCS included) is dropped whole and counted in ROC and RLEC', () => {
    const m = machine();
    const h = new Hand(m);
    const ring = setupRx(h, { size: 16, bufferKb: 2 });
    h.input.push(frame(1514, 1), m.nowNs()); // 1518 with FCS: the standard maximum
    h.input.push(frame(1515, 2), m.nowNs());
    h.input.push(frame(9000, 3), m.nowNs());
    h.input.push(frame(60, 4), m.nowNs());
    m.advanceUs(50);
    expect(h.nic.stats).toMatchObject({ rxPackets: 2, rxOversize: 2, rxMissed: 2 });
    expect(h.read(RXB(0) + R.RDH_OFF)).toBe(2); // one descriptor each for the two good frames, none for the others
    expect(ring.words[2] & 0xffff).toBe(1514);
    expect(ring.words[6] & 0xffff).toBe(60);
    expect(m.readStatistic32(h.address, R.ROC)).toBe(2);
    expect(m.readStatistic32(h.address, R.RLEC)).toBe(2);
    expect(h.nic.violations).toEqual([]);
  });

  test('with JUMBOEN frames up to MAXFRS.MFS are received (over several buffers, EOP on the last); longer ones dropped', () => {
    const m = machine();
    const h = new Hand(m);
    h.set(R.HLREG0, R.HLREG0_JUMBOEN);
    h.write(R.MAXFRS, 9018 << R.MAXFRS_MFS_SHIFT);
    const ring = setupRx(h, { size: 16, bufferKb: 2 });
    h.input.push(frame(9014, 1), m.nowNs());
    h.input.push(frame(9015, 2), m.nowNs());
    m.advanceUs(50);
    expect(h.nic.stats).toMatchObject({ rxPackets: 1, rxOversize: 1 });
    expect(h.read(RXB(0) + R.RDH_OFF)).toBe(5); // 9014 bytes in 2 KiB buffers
    expect(ring.words[4 * 4 + 3] & R.RX_LEGACY_W3_EOP).not.toBe(0);
    expect(ring.words[0 * 4 + 3] & R.RX_LEGACY_W3_EOP).toBe(0);
  });

  test('a pcap input with a frame over 16 KiB is refused when it is loaded, with the frame named', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tnf15-pcap-'));
    try {
      const file = path.join(dir, 'big.pcap');
      const w = new PcapWriter(file);
      w.frame(frame(60, 1), 60, 0);
      w.frame(frame(17000, 2), 17000, 1000);
      w.close();
      expect(() => new PcapInput(file)).toThrow(TinyNfError);
      expect(() => new PcapInput(file)).toThrow(/frame 1 has 17000 bytes; .* at most 16384 bytes/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('MAXFRS resets to 1518 bytes (0x5EE in bits 31:16)', () => {
    const h = new Hand(machine());
    expect(h.read(R.MAXFRS) >>> 16).toBe(0x5ee);
  });
});

describe('reset completeness and pulses', () => {
  test('after a stall, registers the NIC does not watch are reset too (RXPBSIZE kept no old value)', () => {
    const m = machine();
    const h = new Hand(m);
    h.write(R.RXPBSIZE(0), 0x40000); // an earlier process's configuration, long ago
    // the refresh of unwatched words (earned at 64 per full poll, copied 4 KiB at a time) sees it within one round of BAR0
    for (let i = 0; i < R.BAR0_WORDS / 64; i++) h.nic.poll(m.nowNs());
    h.set(R.CTRL, R.CTRL_MASTER_DISABLE);
    h.poll();
    h.set(R.CTRL, R.CTRL_RST);
    h.nic.poll(m.nowNs() + 2_000_000); // the simulator stalled over the whole reset
    expect(h.read(R.RXPBSIZE(0))).toBe(0x80000);
    expect(h.nic.warnings).toEqual([]);
  });

  test('MASTER_DISABLE cleared with no CTRL.RST seen (a reset pulse shorter than a poll) is reported', () => {
    const m = machine();
    const h = new Hand(m);
    h.set(R.CTRL, R.CTRL_MASTER_DISABLE);
    h.poll();
    // the driver sets RST and clears it again (RST and MASTER_DISABLE with it) before the device polls
    h.set(R.CTRL, R.CTRL_RST);
    h.write(R.CTRL, 0);
    h.poll();
    expect(h.nic.warnings.map((w) => w.rule)).toEqual(['reset-pulse-missed']);
    expect(h.nic.violations).toEqual([]);
  });
});

describe('tail laps (Section 7.2.3.3: tail == head means the NIC owns nothing)', () => {
  test('descriptors rewritten behind an unchanged TDT (a whole ring given at once) are reported, not lost silently', () => {
    const m = machine();
    const h = new Hand(m);
    const size = 8;
    const ring = setupTx(h, { size });
    for (let i = 0; i < size - 1; i++) legacyTx(ring, i, 60, true);
    h.write(R.txQueueBase(0) + R.TDT_OFF, size - 1);
    m.advanceUs(10);
    legacyTx(ring, size - 1, 60, true);
    h.write(R.txQueueBase(0) + R.TDT_OFF, 0);
    m.advanceUs(10);
    expect(h.output.frames).toHaveLength(size); // one whole ring consumed
    // now a driver that believes it may give a whole ring: all descriptors rewritten (longer frames), TDT 0 -> 0
    for (let i = 0; i < size; i++) legacyTx(ring, i, 100, true);
    m.advanceUs(500_000);
    expect(h.nic.warnings).toEqual([]); // a driver may take a while between its descriptors and its tail
    m.advanceUs(600_000);
    expect(h.output.frames).toHaveLength(size);
    expect(h.nic.warnings.map((w) => w.rule)).toEqual(['tx-tail-lap-suspected']);
    expect(h.nic.warnings[0].detail).toMatch(/exactly 8 descriptors/);
  });

  test("TinyNF's shared ring: the input NIC's receive write-backs into the output's next descriptor are not a lap", () => {
    // The restricted agent's ring 0 is both port 0's receive ring and port 1's transmit ring: when the driver stops
    // polling while frames keep arriving, port 0 writes back (length, DD) into descriptors port 1 has consumed.
    const m = new SimMachine({ ports: 2, dmaBytes: 32 * 1024 * 1024 });
    const env = new SimulatedEnvironment(m);
    const ports = new Ports(env, m.addresses, 'restricted');
    const nop = NETWORK_FUNCTIONS.nop;
    const { forwarders, handlers } = ports.attach(nop.create(nop.parseConfig({}), { clock: new CoarseClock(env), ports: 2 }));
    m.nic(0).attachInput(createInput({ kind: 'generator', rate: 1, startNs: m.nowNs() }));
    for (let round = 0; round < 300; round++) {
      m.advanceUs(10);
      forwarders[0]!.poll(handlers[0]!);
    }
    expect(m.nic(1).stats.txPackets).toBeGreaterThan(2048); // more than a lap of the 1024-descriptor ring
    m.advanceUs(1_200_000); // the driver stops; frames keep arriving
    expect(m.warnings).toEqual([]);
    expect(m.violations).toEqual([]);
  });

  test('a driver preparing the next descriptor and then moving the tail is not reported', () => {
    const m = machine();
    const h = new Hand(m);
    const size = 8;
    const ring = setupTx(h, { size });
    for (let lap = 0; lap < 3; lap++) {
      for (let i = 0; i < size; i++) {
        legacyTx(ring, i, 60 + lap, true);
        m.advanceUs(30_000); // prepared, not yet given (a driver thread that lost the CPU)
        h.write(R.txQueueBase(0) + R.TDT_OFF, (i + 1) % size);
        m.advanceUs(5);
      }
    }
    expect(h.output.frames).toHaveLength(3 * size);
    expect(h.nic.warnings).toEqual([]);
  });
});
