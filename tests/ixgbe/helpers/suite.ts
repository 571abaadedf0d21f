// The driver-model test suite, parameterised by a rig factory (mini NIC, inline simulator, simulator in a worker).
import type { Forwarder } from '../../../src/ixgbe/forwarder';
import type { PacketHandler } from '../../../src/ixgbe/handler';
import { Rig, collect, forwardAll, frame, pump, range, swapMacs, verify } from './scenarios';

export type Model = 'restricted' | 'flexible';

function dropped(f: Forwarder): number {
  return f.stats.droppedPackets;
}

function txDropped(f: Forwarder): number {
  return (f.stats as { txDropped?: number }).txDropped ?? 0;
}

export function driverSuite(name: string, model: Model, makeRig: (model: Model) => Rig, options: { big?: number } = {}): void {
  const big = options.big ?? 100_000;
  describe(`${name}: ${model} model`, () => {
    test('a frame comes out byte-equal, with the NF rewrite, in order', () => {
      const rig = makeRig(model);
      const f = rig.forwarder(1);
      pump(rig, f, swapMacs, 0, 300);
      const seqs: number[] = [];
      collect(rig, 0, seqs, true);
      expect(seqs).toEqual(range(0, 300));
      expect(f.stats.rxPackets).toBe(300);
      expect(f.stats.txPackets).toEqual([300]);
      expect(dropped(f)).toBe(0);
    });

    test('dropping (null descriptors) sends nothing and is counted', () => {
      const rig = makeRig(model);
      const f = rig.forwarder(1);
      const dropOdd: PacketHandler = (_p, data, length, outputs) => {
        outputs[0] = data.getUint32(14) % 2 === 0 ? 1 : 0;
        return length;
      };
      pump(rig, f, dropOdd, 0, 500);
      const seqs: number[] = [];
      collect(rig, 0, seqs);
      expect(seqs).toEqual(range(0, 500).filter((s) => s % 2 === 0));
      expect(dropped(f)).toBe(250);
      expect(f.stats.txPackets).toEqual([250]);
    });

    test('two outputs receive in lockstep, one of them dropping', () => {
      const rig = makeRig(model);
      const f = rig.forwarder(2);
      const handler: PacketHandler = (_p, data, length, outputs) => {
        outputs[0] = 1;
        outputs[1] = data.getUint32(14) % 3 === 0 ? 1 : 0;
        return length;
      };
      const all: number[] = [];
      const some: number[] = [];
      pump(rig, f, handler, 0, 3000);
      collect(rig, 0, all);
      collect(rig, 1, some);
      expect(all).toEqual(range(0, 3000));
      expect(some).toEqual(range(0, 3000).filter((s) => s % 3 === 0));
      expect(f.stats.txPackets).toEqual([3000, 1000]);
      expect(dropped(f)).toBe(0);
    });

    test(`ring wrap-around: ${big} packets in order, none lost when the output keeps up`, () => {
      const rig = makeRig(model);
      const f = rig.forwarder(1);
      const seqs: number[] = [];
      let next = 0;
      while (next < big) {
        const to = Math.min(big, next + 10_000);
        pump(rig, f, forwardAll, next, to, 64);
        next = to;
        for (const out of rig.take(0)) seqs.push(new DataView(out.buffer, out.byteOffset).getUint32(14));
      }
      expect(seqs.length).toBe(big);
      for (let i = 0; i < big; i++) if (seqs[i] !== i) throw new Error(`packet ${i} is ${seqs[i]}`);
      expect(rig.missed()).toBe(0);
      expect(f.stats.rxPackets).toBe(big);
    });

    test('a slow output fills the ring: drops are counted, nothing is corrupted or reordered', () => {
      const rig = makeRig(model);
      const f = rig.forwarder(1);
      rig.slowOutput();
      const total = 6000;
      pump(rig, f, forwardAll, 0, total, 400);
      const seqs: number[] = [];
      for (let i = 0; i < 2000; i++) {
        rig.step();
        f.poll(forwardAll);
        rig.check();
        collect(rig, 0, seqs);
      }
      for (let i = 1; i < seqs.length; i++) expect(seqs[i]).toBeGreaterThan(seqs[i - 1]);
      const lost = rig.missed() + txDropped(f);
      expect(lost).toBeGreaterThan(0);
      expect(seqs.length + lost).toBe(total);
      expect(f.stats.txPackets[0]).toBe(seqs.length);
      // the ring keeps working afterwards
      pump(rig, f, forwardAll, total, total + 100, 10);
      for (let i = 0; i < 200; i++) {
        rig.step();
        f.poll(forwardAll);
      }
      const after: number[] = [];
      collect(rig, 0, after);
      expect(after).toEqual(range(total, total + 100));
    });

    test('frames are verified as generated (sanity of the helpers)', () => {
      expect(verify(frame(12345))).toBe(12345);
      const bad = frame(7);
      bad[40] ^= 1;
      expect(() => verify(bad)).toThrow(/corrupted/);
    });
  });
}
