// `node churn-child.js <live> <flows>`: one-packet flows through a 65,536-entry flow table at a steady live count
// (one tick per flow, time advancing at the rate that keeps `live` flows within the 10 s expiry), run in a plain
// Node process by flow-table.test.ts (10^7 table operations are several times slower inside jest's module sandbox).
// Prints the statistics as JSON on the last line.
import { FlowTable, MAX_PROBES, SWEEP_FRACTION } from '../../src/nf/lib/flow-table';

export interface ChurnResult {
  slots: number;
  capacity: number;
  refused: number;
  minEmpty: number;
  maxSize: number;
  probesPerMiss: number;
  maxProbes: number;
  sizeBound: number;
  maxProbesBound: number;
}

export function churn(live: number, flows: number): ChurnResult {
  const capacity = 65_536;
  const expiry = 10e9;
  const t = new FlowTable(capacity, expiry);
  const step = expiry / live; // ns between new flows
  let x = live | 1;
  const next = (): number => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x | 0;
  };
  let now = 1;
  let minEmpty = t.slots;
  let maxSize = 0;
  for (let i = 0; i < flows; i++) {
    now += step;
    t.setTime(now);
    t.tick();
    if (t.findOrInsert(next(), i, 17, 6) < 0) break;
    if ((i & 1023) === 0) {
      t.find(next(), -1, 17, 6); // an unsolicited packet: a miss
      if (t.emptySlots < minEmpty) minEmpty = t.emptySlots;
      if (t.size > maxSize) maxSize = t.size;
    }
  }
  return {
    slots: t.slots,
    capacity,
    refused: t.refusedFull + t.refusedProbes,
    minEmpty,
    maxSize,
    probesPerMiss: t.missProbes / t.misses,
    maxProbes: t.maxProbes,
    sizeBound: Math.ceil(live * (1 + 1 / SWEEP_FRACTION)) + 16,
    maxProbesBound: MAX_PROBES,
  };
}

if (require.main === module) {
  const [live, flows] = process.argv.slice(2).map(Number);
  process.stdout.write(JSON.stringify(churn(live, flows)) + '\n');
}
