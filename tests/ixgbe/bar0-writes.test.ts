// No Atomics write ever reaches BAR0 from driver code, in any model (issue: Atomics.store is a locked XCHG, which a
// PCIe endpoint does not support). The NICs run in a worker thread (SimWorker), so every Atomics call on this thread
// is the driver's; a spy on the Atomics writes records those whose target is a BAR0 mapping, during Device.init and
// forwarding. Forwarding must still work: the worker sees the driver's plain stores.
import { SimulatedEnvironment } from '../../src/env/simulated';
import { DriverModel, DriverPorts } from '../../src/app/driver-ports';
import { createNop } from '../../src/nf/simple';
import { SimWorker } from '../../src/sim/worker';
import { pollUntil } from './helpers/poll-until';

const WRITES = ['store', 'exchange', 'compareExchange', 'add', 'sub', 'and', 'or', 'xor'] as const;

/** Replace the Atomics writes by recording wrappers; returns the calls that targeted `targets` and a restore function. */
function spyAtomicWrites(targets: Set<ArrayBufferLike>): { hits: string[]; restore: () => void } {
  const hits: string[] = [];
  const saved = WRITES.map((w) => [w, (Atomics as any)[w]] as const);
  for (const [name, original] of saved) {
    (Atomics as any)[name] = function (this: unknown, array: { buffer: ArrayBufferLike }, index: number, ...rest: number[]) {
      if (targets.has(array.buffer)) hits.push(`Atomics.${name}(word ${index})`);
      return original.call(Atomics, array, index, ...rest);
    };
  }
  return { hits, restore: () => saved.forEach(([name, original]) => ((Atomics as any)[name] = original)) };
}

describe('BAR0 is never written with an Atomics operation by the driver', () => {
  test('the spy sees an Atomics.store on BAR0 when one is made (control)', async () => {
    const sim = SimWorker.start({ ports: 1, dmaBytes: 4 * 1024 * 1024 });
    try {
      const bar0 = sim.bar0(sim.addresses[0]);
      const spy = spyAtomicWrites(new Set([bar0]));
      try {
        Atomics.store(new Uint32Array(bar0), 0x1018 >>> 2, 0);
      } finally {
        spy.restore();
      }
      expect(spy.hits).toEqual([`Atomics.store(word ${0x1018 >>> 2})`]);
    } finally {
      await sim.stop();
    }
  });

  test.each(['restricted', 'flexible', 'compat'] as DriverModel[])('%s: init and forwarding make 0 Atomics writes to BAR0', async (model) => {
    const sim = SimWorker.start({ ports: 2, dmaBytes: 32 * 1024 * 1024 });
    try {
      const spy = spyAtomicWrites(new Set(sim.addresses.map((a) => sim.bar0(a))));
      let forwarded: boolean;
      try {
        const env = new SimulatedEnvironment(sim);
        const ports = new DriverPorts(env, sim.addresses, model);
        const { forwarders, handlers } = ports.attach(createNop({}, { clock: env, ports: 2 }));
        sim.sync();
        for (let p = 0; p < 2; p++) sim.addOutput(p, { kind: 'collect' });
        // Batches smaller than any ring, each forwarded before the next: 12 x 256 frames per port wrap every ring.
        const frame = new Uint8Array(60).fill(0x5a);
        forwarded = true;
        for (let batch = 1; batch <= 12 && forwarded; batch++) {
          for (let p = 0; p < 2; p++) sim.pushFrames(p, new Array<Uint8Array>(256).fill(frame));
          const want = batch * 256;
          forwarded = pollUntil(forwarders, handlers, () => sim.stats(0).txPackets >= want && sim.stats(1).txPackets >= want, 10_000);
        }
      } finally {
        spy.restore();
      }
      expect({ forwarded, stats: [sim.stats(0), sim.stats(1)] }).toMatchObject({ forwarded: true });
      expect([sim.stats(0).rxPackets, sim.stats(1).rxPackets, sim.stats(0).txPackets, sim.stats(1).txPackets]).toEqual([3072, 3072, 3072, 3072]);
      expect(spy.hits).toEqual([]);
      expect(sim.violationCount()).toBe(0);
    } finally {
      const result = await sim.stop();
      expect(result.violations).toEqual([]);
    }
  });
});
