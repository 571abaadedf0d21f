// The WebAssembly receive engine (src/sim/nic-rx-engine.ts, src/sim/wasm/rx-engine.ts) must leave exactly what the
// JavaScript path leaves — the same bytes in the buffers, descriptors, counters, head and reports — for every
// case it takes, and hand every other descriptor to the JavaScript path. Each test runs the same scenario on two
// machines, one with the engine (the default) and one without (SimMachineOptions.engines: false).
import { SimMachine, SimMachineOptions } from '../../src/sim/machine';
import { GeneratorOptions, TrafficGenerator } from '../../src/sim/wires/generator';
import { Hand, R, RXB, Ring, RxOptions, desc, machine, setQ0, setupRx } from './helpers';

interface Side {
  m: SimMachine;
  h: Hand;
  ring: Ring;
}

function side(engine: boolean, rx: RxOptions, generator: GeneratorOptions, options: SimMachineOptions = {}): Side {
  const m = machine({ engines: engine, ...options });
  const h = new Hand(m);
  const ring = setupRx(h, rx);
  h.nic.attachInput(new TrafficGenerator(generator));
  return { m, h, ring };
}

/** Give back every descriptor the NIC wrote back since `from` (buffer address rewritten, as drivers do). */
function recycle(s: Side, from: number): number {
  const head = s.h.read(RXB(0) + R.RDH_OFF);
  for (let i = from; i !== head; i = (i + 1) % s.ring.size) {
    setQ0(s.ring, i, s.ring.bufPhys(i));
    s.ring.words[i * 4 + 2] = 0;
    s.ring.words[i * 4 + 3] = 0;
  }
  s.h.write(RXB(0) + R.RDT_OFF, (head + s.ring.size - 1) % s.ring.size);
  return head;
}

function expectSame(a: Side, b: Side): void {
  expect(a.h.nic.stats).toEqual(b.h.nic.stats);
  expect(a.h.read(RXB(0) + R.RDH_OFF)).toBe(b.h.read(RXB(0) + R.RDH_OFF));
  for (let i = 0; i < a.ring.size; i++) {
    expect(desc(a.ring, i)).toEqual(desc(b.ring, i));
    expect(Buffer.compare(Buffer.from(a.ring.buf(i)), Buffer.from(b.ring.buf(i)))).toBe(0);
  }
  expect(a.h.nic.violations.map((v) => [v.rule, v.where])).toEqual(b.h.nic.violations.map((v) => [v.rule, v.where]));
}

const engineFrames = (s: Side): number => s.h.nic.rxEngine?.frames ?? 0;

describe('the receive engine matches the JavaScript path', () => {
  test.each([
    ['legacy descriptors, line rate', {}, { rate: 'line-rate' as const }],
    ['advanced descriptors, line rate', { advanced: true }, { rate: 'line-rate' as const }],
    ['legacy descriptors, 3 Mpps, 77-byte frames', {}, { rate: 3, frameSize: 77 }],
    ['advanced descriptors, unlimited rate, count 1000', { advanced: true }, { rate: 'unlimited' as const, count: 1000 }],
    ['legacy descriptors, line rate, 1514-byte frames', {}, { rate: 'line-rate' as const, frameSize: 1514 }],
  ])('%s, several laps of the ring with the driver giving descriptors back', (_name, rx, gen) => {
    const generator: GeneratorOptions = { flows: 5, frameSize: 60, seed: 3, vary: ['srcIp', 'dstPort'], ...gen };
    const a = side(true, { size: 64, ...rx }, generator);
    const b = side(false, { size: 64, ...rx }, generator);
    let fromA = 0;
    let fromB = 0;
    for (let round = 0; round < 100; round++) {
      a.m.advanceUs(3);
      b.m.advanceUs(3);
      fromA = recycle(a, fromA);
      fromB = recycle(b, fromB);
    }
    expect(a.h.nic.stats.rxPackets).toBeGreaterThan(3 * 64); // more than 3 laps
    expectSame(a, b);
    expect(a.h.nic.violations).toEqual([]);
    expect(engineFrames(a)).toBeGreaterThan(a.h.nic.stats.rxPackets / 2);
    expect(b.h.nic.rxEngine).toBeNull();
  });

  test.each([
    ['DROP_EN: dropped unread and counted (QPRDC)', true],
    ['no DROP_EN: the frame waits for a descriptor', false],
  ])('a full ring, %s, then the driver gives descriptors back: the same frames follow', (_name, dropEnable) => {
    const generator: GeneratorOptions = { flows: 4, frameSize: 60, rate: 'line-rate', count: 600, seed: 9 };
    const a = side(true, { size: 32, dropEnable }, generator);
    const b = side(false, { size: 32, dropEnable }, generator);
    let fromA = 0;
    let fromB = 0;
    for (let round = 0; round < 12; round++) {
      a.m.advanceUs(5); // ~74 frames offered per round: more than the ring holds
      b.m.advanceUs(5);
      if (round % 3 === 2) {
        fromA = recycle(a, fromA);
        fromB = recycle(b, fromB);
      }
    }
    expectSame(a, b);
    expect(a.h.read(R.QPRDC(0))).toBe(b.h.read(R.QPRDC(0)));
    if (dropEnable) expect(a.h.nic.stats.rxNoDescriptor).toBeGreaterThan(100);
    else expect(a.h.nic.stats.rxNoDescriptor).toBe(0);
    expect(engineFrames(a)).toBeGreaterThan(0);
  });

  test('a descriptor modified while the NIC owns it: the engine stops there and the JavaScript path reports it', () => {
    const generator: GeneratorOptions = { flows: 2, frameSize: 60, rate: 'line-rate' };
    const a = side(true, { size: 32 }, generator);
    const b = side(false, { size: 32 }, generator);
    for (const s of [a, b]) {
      s.m.advanceUs(1); // the generator's clock starts; a few frames
      s.ring.words[20 * 4 + 2] = 0x1234; // owned by the NIC since setupRx
      s.m.advanceUs(5);
    }
    expectSame(a, b);
    expect(a.h.nic.violations.map((v) => v.rule)).toContain('descriptor-modified-while-owned');
    expect(engineFrames(a)).toBeGreaterThan(0);
  });

  test('a buffer not 4-byte aligned, or in a region outside the window: the JavaScript path takes that descriptor', () => {
    const generator: GeneratorOptions = { flows: 3, frameSize: 60, rate: 'line-rate', count: 20 };
    const sides = [side(true, { size: 32, noTail: true }, generator), side(false, { size: 32, noTail: true }, generator)];
    for (const s of sides) {
      const extra = new SharedArrayBuffer(8192);
      s.m.memory.addRegion(0x7_0000_0000, extra, 0, extra.byteLength);
      setQ0(s.ring, 4, s.ring.bufPhys(4) + 2);
      setQ0(s.ring, 9, 0x7_0000_0000 + 4096);
      s.h.write(RXB(0) + R.RDT_OFF, 31);
      s.m.advanceUs(10);
      expect(new Uint8Array(extra, 4096, 60).some((x) => x !== 0)).toBe(true); // frame 9 landed in the extra region
    }
    const [a, b] = sides;
    expect(a.h.nic.stats.rxPackets).toBe(20);
    expectSame(a, b);
    expect(a.h.nic.violations).toEqual([]);
    expect(engineFrames(a)).toBeGreaterThan(0);
    expect(engineFrames(a)).toBeLessThan(20);
  });

  test('inputs it does not take: several frame sizes, stamped frames, flows in random order, too many flows for its area', () => {
    for (const generator of [
      { frameSize: [60, 100] },
      { order: 'random' },
      { stamp: true },
      { flows: 20_000 },
    ] as GeneratorOptions[]) {
      const a = side(true, { size: 16 }, { rate: 'line-rate', ...generator });
      expect(a.h.nic.rxEngine).toBeNull();
    }
  });
});
