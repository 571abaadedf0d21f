// Receive at 10 Gb/s at most, whatever the input offers; and the receive fast paths (a generator writing straight
// into the descriptor's buffer, frames skipped unread when they would be dropped anyway) must leave exactly what
// the general path (staging area, deliver) leaves: same bytes, same descriptors, same counters and registers.
import { SimMachine } from '../../src/sim/machine';
import { QueueInput, WireInput } from '../../src/sim/wire';
import { GeneratorOptions, TrafficGenerator } from '../../src/sim/wires/generator';
import { Hand, R, RXB, desc, frame, machine, setupRx, RxOptions } from './helpers';

/** Wire time of a frame of `length` bytes without FCS at 10 Gb/s: FCS, padding to 64 B, preamble + SFD + gap. */
const wireNs = (length: number) => (Math.max(length, 60) + 4 + 20) * 0.8;

function framesOf(options: GeneratorOptions, count: number): Uint8Array[] {
  const g = new TrafficGenerator({ ...options, rate: 'unlimited', count });
  const into = new Uint8Array(16384);
  const out: Uint8Array[] = [];
  for (let n = g.next(into, 0); n !== 0; n = g.next(into, 0)) out.push(into.slice(0, n));
  return out;
}

function queueOf(frames: Uint8Array[]): QueueInput {
  const q = new QueueInput();
  for (const f of frames) q.push(f);
  return q;
}

/** A port set up by hand for receive, then `input` attached (after setup, as the driver's users do). */
function receiver(rx: RxOptions, input: WireInput, dmaBytes = 4 * 1024 * 1024): { m: SimMachine; h: Hand; ring: ReturnType<typeof setupRx> } {
  const m = machine({ dmaBytes });
  const h = new Hand(m);
  if (rx.crcStrip === false) h.clear(R.HLREG0, R.HLREG0_RXCRCSTRP); // both CRC strip bits agree (Section 4.6.7)
  const ring = setupRx(h, rx);
  h.nic.attachInput(input);
  return { m, h, ring };
}

describe('receive line rate (10 Gb/s per port)', () => {
  test('frames queued all at once arrive one wire time apart', () => {
    const frames = Array.from({ length: 100 }, (_, i) => frame(60, i));
    const { m, h } = receiver({ size: 256 }, queueOf(frames));
    m.advanceNs(2000);
    // frame k starts arriving 67.2 k ns after the first: 30 have started within 2 us
    const expected = Math.floor(2000 / wireNs(60)) + 1;
    expect(h.nic.stats.rxPackets).toBeGreaterThanOrEqual(expected - 1);
    expect(h.nic.stats.rxPackets).toBeLessThanOrEqual(expected);
    m.advanceNs(10_000);
    expect(h.nic.stats).toMatchObject({ rxPackets: 100, rxMissed: 0 });
    expect(h.nic.violations).toEqual([]);
  });

  test('large frames: 1514-byte frames take 1230.4 ns each', () => {
    const frames = Array.from({ length: 20 }, (_, i) => frame(1514, i));
    const { m, h } = receiver({ size: 64 }, queueOf(frames));
    m.advanceNs(10_000);
    const expected = Math.floor(10_000 / wireNs(1514)) + 1; // 9
    expect(h.nic.stats.rxPackets).toBeGreaterThanOrEqual(expected - 1);
    expect(h.nic.stats.rxPackets).toBeLessThanOrEqual(expected);
  });

  test('a generator offering more than line rate (20 Mpps of 64 B) is held to 14.88 Mpps', () => {
    const g = new TrafficGenerator({ rate: 20, frameSize: 60, count: 100_000 });
    const { m, h } = receiver({ size: 4096, dropEnable: true }, g, 16 * 1024 * 1024);
    m.advanceNs(100_000);
    const lineRate = Math.floor(100_000 / wireNs(60)) + 1; // 1489 frames, where the generator offers 2000
    const got = h.nic.stats.rxPackets + h.nic.stats.rxMissed;
    expect(got).toBeGreaterThan(lineRate - 20);
    expect(got).toBeLessThanOrEqual(lineRate);
  });
});

describe('receive fast paths match the general path', () => {
  const options: GeneratorOptions = { flows: 7, frameSize: [60, 61, 200, 1514], seed: 5, vary: ['srcIp', 'dstPort'] };

  test.each([
    ['legacy descriptors', {}],
    ['advanced descriptors', { advanced: true }],
    ['CRC kept (no direct path)', { crcStrip: false }],
    ['not promiscuous (filtered, no direct path)', { promiscuous: false }],
    ['1 KB buffers (frames span descriptors, no direct path)', { bufferKb: 1 }],
  ] as [string, RxOptions][])('generator vs the same frames queued: %s', (_name, rx) => {
    const n = 40;
    const a = receiver({ size: 128, ...rx }, new TrafficGenerator({ ...options, rate: 'line-rate', count: n }));
    const b = receiver({ size: 128, ...rx }, queueOf(framesOf(options, n)));
    a.m.advanceUs(200);
    b.m.advanceUs(200);
    expect(a.h.nic.stats).toEqual(b.h.nic.stats);
    if (!(rx.promiscuous === false)) expect(a.h.nic.stats.rxPackets).toBe(n);
    for (let i = 0; i < 128; i++) {
      expect(desc(a.ring, i)).toEqual(desc(b.ring, i));
      expect(Buffer.compare(Buffer.from(a.ring.buf(i)), Buffer.from(b.ring.buf(i)))).toBe(0);
    }
    expect(a.h.nic.violations).toEqual([]);
  });

  test.each([
    ['legacy descriptors', {}],
    ['advanced descriptors', { advanced: true }],
  ] as [string, RxOptions][])('one 60-byte size, flows in turn (the generator\'s short path) vs the same frames queued: %s', (_name, rx) => {
    const short: GeneratorOptions = { flows: 3, frameSize: 60 };
    const n = 300; // more than the ring: the driver side (here, nobody) gives no descriptors back, DROP_EN drops
    const a = receiver({ size: 128, ...rx }, new TrafficGenerator({ ...short, rate: 'line-rate', count: n }));
    const b = receiver({ size: 128, ...rx }, queueOf(framesOf(short, n)));
    a.m.advanceUs(100);
    b.m.advanceUs(100);
    expect(a.h.nic.stats).toEqual(b.h.nic.stats);
    expect(a.h.nic.stats).toMatchObject({ rxPackets: 127, rxNoDescriptor: n - 127 });
    for (let i = 0; i < 128; i++) {
      expect(desc(a.ring, i)).toEqual(desc(b.ring, i));
      expect(Buffer.compare(Buffer.from(a.ring.buf(i)), Buffer.from(b.ring.buf(i)))).toBe(0);
    }
    expect(a.h.read(R.QPRDC(0))).toBe(b.h.read(R.QPRDC(0)));
  });

  test('a direct input that hands over runts: counted in RUC, no descriptor written back, as on the general path', () => {
    const lengths = [60, 42, 61, 59, 60];
    const frames = lengths.map((l, k) => frame(l, k + 1));
    let k = 0;
    const direct = {
      maxFrameLength: 61,
      next(into: Uint8Array): number {
        if (k === frames.length) return 0;
        into.set(frames[k]);
        return frames[k++].length;
      },
      nextAt(bytes: Uint8Array, _words: Int32Array, at: number): number {
        if (k === frames.length) return 0;
        bytes.set(frames[k], at);
        return frames[k++].length;
      },
    };
    const a = receiver({ size: 8 }, direct);
    const b = receiver({ size: 8 }, queueOf(frames));
    a.m.advanceUs(5);
    b.m.advanceUs(5);
    expect(a.h.nic.stats).toEqual(b.h.nic.stats);
    expect(a.h.nic.stats).toMatchObject({ rxPackets: 3, rxUndersize: 2 });
    expect(a.h.read(R.RUC)).toBe(2);
    for (let i = 0; i < 8; i++) expect(desc(a.ring, i)).toEqual(desc(b.ring, i));
    for (let i = 0; i < 3; i++) expect(Buffer.compare(Buffer.from(a.ring.buf(i)), Buffer.from(b.ring.buf(i)))).toBe(0);
  });

  test('no free descriptor with DROP_EN: frames skipped unread are counted like dropped ones (QPRDC), and the next frames follow', () => {
    const run = (input: WireInput) => {
      const r = receiver({ size: 8, dropEnable: true }, input);
      r.m.advanceUs(100);
      return r;
    };
    const frames = framesOf(options, 60);
    const a = run(new TrafficGenerator({ ...options, rate: 'line-rate', count: 60 }));
    const b = run(queueOf(frames));
    expect(a.h.nic.stats).toEqual(b.h.nic.stats);
    expect(a.h.nic.stats).toMatchObject({ rxPackets: 7, rxMissed: 53, rxNoDescriptor: 53 });
    expect(a.h.read(R.QPRDC(0))).toBe(53);
    expect(a.h.read(R.QPRDC(0))).toBe(b.h.read(R.QPRDC(0)));
    // descriptors 0..6 hold frames 0..6
    for (let i = 0; i < 7; i++) expect(Array.from(a.ring.buf(i).subarray(0, frames[i].length))).toEqual(Array.from(frames[i]));
  });

  test('receive disabled: frames skipped unread are counted in MPC like missed ones', () => {
    const run = (input: WireInput) => {
      const m = machine();
      const h = new Hand(m);
      h.nic.attachInput(input);
      m.advanceUs(50);
      return h;
    };
    const a = run(new TrafficGenerator({ ...options, rate: 'line-rate', count: 25 }));
    const b = run(queueOf(framesOf(options, 25)));
    expect(a.nic.stats).toEqual(b.nic.stats);
    expect(a.nic.stats).toMatchObject({ rxPackets: 0, rxMissed: 25 });
    expect(a.read(R.MPC(0))).toBe(25);
    expect(b.read(R.MPC(0))).toBe(25);
  });

  test('TrafficGenerator.skip leaves the sequence as next() would', () => {
    const all = framesOf(options, 10);
    const g = new TrafficGenerator({ ...options, rate: 'unlimited', count: 10 });
    const into = new Uint8Array(2048);
    for (let k = 0; k < 5; k++) expect(g.skip(0)).toBe(all[k].length);
    for (let k = 5; k < 10; k++) {
      const len = g.next(into, 0);
      expect(Array.from(into.subarray(0, len))).toEqual(Array.from(all[k]));
    }
    expect(g.skip(0)).toBe(0);
    expect(g.sent).toBe(10);
  });

  test('RDH is written once per batch and reads the head after it', () => {
    const { m, h, ring } = receiver({ size: 16 }, new TrafficGenerator({ rate: 'line-rate', count: 10 }));
    m.advanceUs(5);
    expect(h.read(RXB(0) + R.RDH_OFF)).toBe(10);
    expect(desc(ring, 9)[3] & 3).toBe(3);
  });
});
