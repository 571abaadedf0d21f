import fc from 'fast-check';
import { FlowTable, MAX_PROBES, keyedHash } from '../../src/nf/lib/flow-table';

describe('FlowTable', () => {
  it('behaves like a map with expiry (model-based property)', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 3 })), { maxLength: 120 }), (ops) => {
        const table = new FlowTable(64, 100);
        const model = new Map<number, number>(); // key -> last use
        let now = 1;
        for (const [key, dt] of ops) {
          now += dt * 30;
          for (const [k, t] of model) if (now - t > 100) model.delete(k);
          const slot = table.findOrInsert(key, 0, 0, 0, now);
          expect(slot).toBeGreaterThanOrEqual(0); // 41 keys < capacity 64
          expect(table.isNew).toBe(!model.has(key));
          model.set(key, now);
          table.touch(slot, now);
          for (const k of model.keys()) expect(table.find(k, 0, 0, 0, now)).toBeGreaterThanOrEqual(0);
        }
      }),
      { numRuns: 60 },
    );
  });

  it('refuses inserts beyond its capacity and accepts them again after expiry', () => {
    const t = new FlowTable(3, 1000);
    expect([1, 2, 3].map((k) => t.findOrInsert(k, 0, 0, 0, 10) >= 0)).toEqual([true, true, true]);
    expect(t.findOrInsert(4, 0, 0, 0, 10)).toBe(-1);
    t.expire(5000, t.slots);
    expect(t.size).toBe(0);
    expect(t.findOrInsert(4, 0, 0, 0, 5000)).toBeGreaterThanOrEqual(0);
  });

  it('keeps probe counts bounded for keys crafted to collide under an unkeyed hash', () => {
    const unkeyed = new Uint32Array(4); // the same hash with a known (zero) key: what an attacker could compute
    const table = new FlowTable(4096, 1e12);
    const colliding: number[] = [];
    const mask = table.slots - 1;
    for (let k = 0; colliding.length < 300; k++) {
      if ((keyedHash(k, 0, 0, 0, unkeyed) & mask) === 0) colliding.push(k);
    }
    // sanity: against an unkeyed table these keys would all land in one slot
    const victim = new FlowTable(4096, 1e12, unkeyed);
    let refused = 0;
    for (const k of colliding) if (victim.findOrInsert(k, 0, 0, 0, 1) < 0) refused++;
    expect(refused).toBeGreaterThan(250);
    for (const k of colliding) expect(table.findOrInsert(k, 0, 0, 0, 1)).toBeGreaterThanOrEqual(0);
    expect(table.maxProbes).toBeLessThan(MAX_PROBES);
    expect(table.totalProbes / table.operations).toBeLessThan(3);
  });
});

describe('FlowTable at capacity', () => {
  it('reclaims expired entries for a new key whatever the hash key (fresh secrets)', () => {
    for (let trial = 0; trial < 200; trial++) {
      const secret = new Uint32Array([trial * 7919, trial * 104729, trial + 1, trial ^ 0xdeadbeef]);
      const t = new FlowTable(4, 1000, secret);
      for (let k = 1; k <= 4; k++) expect(t.findOrInsert(k, 0, 0, 0, 10)).toBeGreaterThanOrEqual(0);
      expect(t.findOrInsert(99, 0, 0, 0, 20)).toBe(-1); // full of live entries
      t.tick(20);
      t.tick(5000); // the clock-paced sweep frees the dead entries
      expect(t.size).toBe(0);
      for (let k = 100; k < 104; k++) expect(t.findOrInsert(k, 0, 0, 0, 5000)).toBeGreaterThanOrEqual(0);
      expect(t.size).toBe(4);
    }
  });
});
