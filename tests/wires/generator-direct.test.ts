// TrafficGenerator.nextAt (the NIC's direct receive path: a frame written at an offset of a whole buffer, word-wise
// for short frames) must write exactly the bytes next() writes, and nothing past the frame.
import { GeneratorOptions, TrafficGenerator } from '../../src/sim/wires/generator';

const CASES: [string, GeneratorOptions][] = [
  ['60 B, one flow (the short path)', { frameSize: 60 }],
  ['61 B and 63 B tails', { frameSize: [61, 63], flows: 3 }],
  ['128 B (largest word-copied) and 129 B', { frameSize: [128, 129] }],
  ['IMIX, random flows', { frameSize: 'imix', flows: 5, order: 'random', seed: 7 }],
  ['stamped TCP', { protocol: 'tcp', frameSize: 90, stamp: true, flows: 2 }],
  ['line rate', { rate: 'line-rate', flows: 4 }],
  ['header mode (many flows x sizes)', { flows: 1 << 16, frameSize: [60, 1514] }],
];

describe('TrafficGenerator.nextAt', () => {
  test.each(CASES)('%s: the same frames as next(), at aligned and unaligned offsets, nothing past them', (_name, options) => {
    const a = new TrafficGenerator({ startNs: 0, ...options });
    const b = new TrafficGenerator({ startNs: 0, ...options });
    const into = new Uint8Array(2048);
    const sab = new SharedArrayBuffer(64 * 1024);
    const bytes = new Uint8Array(sab);
    const words = new Int32Array(sab);
    let now = 0;
    for (let k = 0; k < 200; k++) {
      now += 300;
      into.fill(0);
      const at = 4096 + (k % 8) * 2051 + (k % 3 === 0 ? 0 : 4 - (k % 4)); // word-aligned now and then, else not
      const start = at - (at % 4);
      bytes.fill(0xee, start, start + 2048 + 8);
      const n = a.next(into, now);
      const m = b.nextAt(bytes, words, at, now);
      expect(m).toBe(n);
      if (n === 0) continue;
      expect(Buffer.from(bytes.subarray(at, at + n)).equals(Buffer.from(into.subarray(0, n)))).toBe(true);
      // the bytes around the frame are untouched
      for (let i = start; i < at; i++) expect(bytes[i]).toBe(0xee);
      for (let i = at + n; i < at + n + 4; i++) expect(bytes[i]).toBe(0xee);
    }
    expect(b.sent).toBe(a.sent);
    expect(b.sent).toBeGreaterThan(0);
  });
});
