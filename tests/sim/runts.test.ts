// Undersize frames (runts): a real 82599 counts frames shorter than 64 bytes (FCS included) that passed address
// filtering in RUC and does not store them (Section 8.2.3.23, RUC); real transmitters pad to the minimum, and so do
// the inputs standing for one (TAP: tests/wires/tap.test.ts; pcap replay: here).
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { MIN_WIRE_FRAME } from '../../src/sim/wire';
import { PcapInput, PcapWriter } from '../../src/sim/wires/pcap';
import { Hand, R, RXB, desc, frame, machine, setupRx } from './helpers';

describe('runts at the receiving NIC', () => {
  test('frames under 60 bytes (64 with FCS) are dropped and counted in RUC; 60 bytes is received', () => {
    const m = machine();
    const h = new Hand(m);
    const ring = setupRx(h, { size: 8 });
    for (const length of [59, 42, 60, 14, 61]) h.input.push(frame(length, length));
    m.advanceUs(5);
    expect(h.nic.stats).toMatchObject({ rxPackets: 2, rxMissed: 3, rxUndersize: 3, rxFiltered: 0, rxNoDescriptor: 0 });
    expect(h.read(R.RUC)).toBe(3);
    expect(h.read(R.GPRC)).toBe(2);
    // only the 60- and 61-byte frames took descriptors, in order
    expect(desc(ring, 0).slice(2)).toEqual([60, 0x3]);
    expect(desc(ring, 1).slice(2)).toEqual([61, 0x3]);
    expect(desc(ring, 2)[3]).toBe(0);
    expect(h.read(RXB(0) + R.RDH_OFF)).toBe(2);
    expect(h.nic.violations).toEqual([]);
  });

  test('RUC only counts runts that passed address filtering, while receive is enabled', () => {
    const m = machine();
    const h = new Hand(m);
    h.input.push(frame(42, 1)); // receive not enabled yet: missed (MPC), not an undersize error
    m.advanceUs(1);
    expect(h.nic.stats).toMatchObject({ rxMissed: 1, rxUndersize: 0 });
    expect(h.read(R.MPC(0))).toBe(1);
    setupRx(h, { size: 8, promiscuous: false });
    h.input.push(frame(42, 2)); // to 02:00:00:00:00:99, not our address: filtered
    h.input.push(frame(42, 3, [0xff, 0xff, 0xff, 0xff, 0xff, 0xff])); // broadcast, FCTRL.BAM = 0: filtered
    m.advanceUs(1);
    expect(h.nic.stats).toMatchObject({ rxMissed: 3, rxFiltered: 2, rxUndersize: 0 });
    h.set(R.FCTRL, R.FCTRL_BAM);
    h.input.push(frame(42, 4, [0xff, 0xff, 0xff, 0xff, 0xff, 0xff])); // accepted by the filter: a runt
    m.advanceUs(1);
    expect(h.nic.stats).toMatchObject({ rxPackets: 0, rxMissed: 4, rxUndersize: 1 });
    expect(h.read(R.RUC)).toBe(1);
  });

  test('the NIC pads what it transmits, so its own loopback never produces runts (HLREG0.TXPADEN)', () => {
    const m = machine();
    const h = new Hand(m);
    setupRx(h, { size: 8 });
    h.nic.injectFrame(frame(42, 5), 42, m.nowNs()); // a short frame straight into receive: a runt
    expect(h.nic.stats.rxUndersize).toBe(1);
    const padded = new Uint8Array(MIN_WIRE_FRAME);
    padded.set(frame(42, 5));
    h.nic.injectFrame(padded, MIN_WIRE_FRAME, m.nowNs());
    expect(h.nic.stats).toMatchObject({ rxPackets: 1, rxUndersize: 1 });
  });
});

describe('pcap replay pads like a transmitter', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tinynf-runts-'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('a 42-byte ARP in a capture arrives as 60 bytes, zero-padded; longer frames are unchanged', () => {
    const file = path.join(dir, 'short.pcap');
    const w = new PcapWriter(file);
    const arp = frame(42, 7, [0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
    const long = frame(100, 8);
    w.frame(arp, 42, 0);
    w.frame(long, 100, 1000);
    w.close();
    const input = new PcapInput(file);
    const into = new Uint8Array(2048).fill(0xee);
    expect(input.next(into, 0)).toBe(60);
    expect(Array.from(into.subarray(0, 42))).toEqual(Array.from(arp));
    expect(into.subarray(42, 60).every((b) => b === 0)).toBe(true);
    expect(input.next(into, 0)).toBe(100);
    expect(Array.from(into.subarray(0, 100))).toEqual(Array.from(long));

    // through the NIC: received as a 60-byte frame, no undersize error
    const m = machine();
    const h = new Hand(m);
    const ring = setupRx(h, { size: 8 });
    h.nic.attachInput(new PcapInput(file));
    m.advanceUs(5);
    expect(h.nic.stats).toMatchObject({ rxPackets: 2, rxUndersize: 0, rxMissed: 0 });
    expect(desc(ring, 0).slice(2)).toEqual([60, 0x3]);
    expect(Array.from(ring.buf(0).subarray(0, 60))).toEqual([...Array.from(arp), ...new Array<number>(18).fill(0)]);
  });
});
