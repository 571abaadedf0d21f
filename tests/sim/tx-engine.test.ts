// The WebAssembly transmit engine (src/sim/nic-tx-engine.ts, src/sim/wasm/tx-engine.ts) serves a port with no output
// attached: it must leave exactly what the JavaScript path leaves — counters, descriptor and head write-backs, TDH,
// reports — and hand every descriptor it does not take (context, multi-descriptor, no IFCS, short, a buffer
// elsewhere) to the JavaScript path. Each scenario runs on a machine with the engines and one without.
import { SimMachine } from '../../src/sim/machine';
import { Hand, R, Ring, TXB, desc, legacyTx, machine, setQ0, setupTx } from './helpers';

interface Side {
  m: SimMachine;
  h: Hand;
  ring: Ring;
  head: Uint32Array | null;
}

function side(engines: boolean, size: number, headWriteBack: boolean): Side {
  const m = machine({ engines });
  const h = new Hand(m);
  h.nic.detachOutputs(); // no wire: frames are counted only
  let head: Uint32Array | null = null;
  let headPhys: number | null = null;
  if (headWriteBack) {
    const mem = m.allocateDma(64);
    head = new Uint32Array(mem.buffer, mem.byteOffset, 1);
    headPhys = mem.phys;
  }
  const ring = setupTx(h, { size, headPhys });
  return { m, h, ring, head };
}

function expectSame(a: Side, b: Side): void {
  expect(a.h.nic.stats).toEqual(b.h.nic.stats);
  expect(a.h.read(TXB(0) + R.TDH_OFF)).toBe(b.h.read(TXB(0) + R.TDH_OFF));
  if (a.head !== null && b.head !== null) expect(a.head[0]).toBe(b.head[0]);
  for (let i = 0; i < a.ring.size; i++) expect(desc(a.ring, i)).toEqual(desc(b.ring, i));
  expect(a.h.nic.violations.map((v) => [v.rule, v.where])).toEqual(b.h.nic.violations.map((v) => [v.rule, v.where]));
  expect(a.h.nic.warnings.map((v) => v.rule)).toEqual(b.h.nic.warnings.map((v) => v.rule));
}

const sent = (s: Side): number => s.h.nic.txEngine?.sent ?? 0;

/** Descriptor i as the JavaScript path's special cases want it (see the top of this file). */
function special(ring: Ring, i: number, kind: string): void {
  const w = ring.words;
  if (kind === 'null') legacyTx(ring, i, 0, true);
  else if (kind === 'two-part') legacyTx(ring, i, 100, false, false);
  else if (kind === 'no-ifcs') w[i * 4 + 2] = (100 | R.TX_CMD_EOP | R.TX_CMD_RS) >>> 0;
  else if (kind === 'short') legacyTx(ring, i, 42, true);
  else if (kind === 'context') {
    w[i * 4 + 2] = (R.TX_CMD_DEXT | (R.TX_ADV_DTYP_CONTEXT << R.TX_ADV_DTYP_SHIFT)) >>> 0;
    w[i * 4 + 3] = 0;
  } else if (kind === 'advanced') {
    w[i * 4 + 2] = (200 | R.TX_CMD_DEXT | (R.TX_ADV_DTYP_DATA << R.TX_ADV_DTYP_SHIFT) | R.TX_CMD_EOP | R.TX_CMD_IFCS | R.TX_CMD_RS) >>> 0;
    w[i * 4 + 3] = 200 << 14; // PAYLEN
  } else if (kind === 'elsewhere') {
    setQ0(ring, i, 0x7_0000_0000);
    legacyTx(ring, i, 64, true);
  } else legacyTx(ring, i, 60 + ((i * 37) % 1400), i % 3 === 0);
}

describe('the transmit engine matches the JavaScript path', () => {
  test.each([
    ['head write-back', true],
    ['DD write-back', false],
  ])('%s: ordinary frames, null descriptors, and every case it leaves to JavaScript, over several laps', (_name, headWriteBack) => {
    const sides = [side(true, 64, headWriteBack), side(false, 64, headWriteBack)];
    const kinds = ['frame', 'null', 'frame', 'two-part', 'frame', 'no-ifcs', 'short', 'context', 'advanced', 'elsewhere', 'frame', 'frame'];
    for (const s of sides) {
      const extra = new SharedArrayBuffer(8192);
      s.m.memory.addRegion(0x7_0000_0000, extra, 0, extra.byteLength);
      let tail = 0;
      for (let round = 0; round < 30; round++) {
        for (let k = 0; k < 11; k++) {
          special(s.ring, tail, kinds[(round + k) % kinds.length]);
          tail = (tail + 1) % s.ring.size;
        }
        s.h.write(TXB(0) + R.TDT_OFF, tail);
        s.m.advanceUs(2);
        // give the buffer addresses back (head write-back leaves them; DD write-back keeps them too)
        for (let i = 0; i < s.ring.size; i++) setQ0(s.ring, i, s.ring.bufPhys(i));
      }
    }
    const [a, b] = sides;
    expect(a.h.nic.stats.txPackets).toBeGreaterThan(150);
    expect(a.h.nic.stats.txNullDescriptors).toBeGreaterThan(10);
    expectSame(a, b);
    expect(sent(a)).toBeGreaterThan(0);
    expect(sent(a)).toBeLessThan(a.h.nic.stats.txPackets);
    expect(b.h.nic.txEngine).toBeNull();
  });

  test('a descriptor modified while owned (handed over while paced, then sent unpaced) is reported as by JavaScript', () => {
    const sides = [side(true, 16, true), side(false, 16, true)];
    for (const s of sides) {
      s.h.nic.setTxPacing(0.01); // one frame per 100 us
      for (let i = 0; i < 8; i++) legacyTx(s.ring, i, 64, true);
      s.h.write(TXB(0) + R.TDT_OFF, 8);
      s.m.advanceUs(1); // descriptor 0 sent; 1..7 fetched at that poll
      legacyTx(s.ring, 5, 99, true);
      s.h.nic.setTxPacing('unlimited');
      s.m.advanceUs(5);
    }
    const [a, b] = sides;
    expect(a.h.nic.stats.txPackets).toBe(8);
    expect(a.h.nic.violations.map((v) => v.where)).toEqual(['TX ring 0 descriptor 5']);
    expectSame(a, b);
    expect(sent(a)).toBeGreaterThan(0);
  });

  test('with an output attached the JavaScript path sends (every frame reaches the wire)', () => {
    const a = side(true, 16, true);
    a.h.nic.attachOutput(a.h.output);
    for (let i = 0; i < 8; i++) legacyTx(a.ring, i, 64, true);
    a.h.write(TXB(0) + R.TDT_OFF, 8);
    a.m.advanceUs(5);
    expect(a.h.output.frames).toHaveLength(8);
    expect(sent(a)).toBe(0);
  });
});
