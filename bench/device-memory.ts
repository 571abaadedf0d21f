// Cost of one BAR0 register write, before/after issue 12, in one run: Atomics.store (V8's AtomicsStore builtin, an
// xchgl: what the driver used to do) against DeviceRegister.write32 (a plain movl: what it does now), on a
// SharedArrayBuffer standing for BAR0. Rounds alternate so drift on a shared machine hits both alike; the median of
// the rounds is reported.   node dist/bench/device-memory.js [--rounds 15] [--json]
import { DeviceMemory } from '../src/env/device-memory';

const WRITES = 2_000_000;

const bar = new SharedArrayBuffer(128 * 1024);
const words = new Uint32Array(bar);
const tail = new DeviceMemory(bar).register(0x06018);

function atomicsStores(n: number): void {
  for (let i = 0; i < n; i++) Atomics.store(words, 0x06018 >>> 2, i & 1023);
}

function plainStores(n: number): void {
  for (let i = 0; i < n; i++) tail.write32(i & 1023);
}

function nsPerWrite(f: (n: number) => void): number {
  const start = process.hrtime.bigint();
  f(WRITES);
  return Number(process.hrtime.bigint() - start) / WRITES;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

const roundsArg = process.argv.indexOf('--rounds');
const rounds = roundsArg >= 0 ? Number(process.argv[roundsArg + 1]) : 15;
for (let w = 0; w < 3; w++) {
  atomicsStores(WRITES); // warm both up to TurboFan
  plainStores(WRITES);
}
const before: number[] = [];
const after: number[] = [];
for (let r = 0; r < rounds; r++) {
  before.push(nsPerWrite(atomicsStores));
  after.push(nsPerWrite(plainStores));
}
const row = { test: 'device-memory-write', atomics_store_ns: median(before), write32_ns: median(after), speedup: median(before) / median(after) };
if (process.argv.includes('--json')) {
  console.log(JSON.stringify(row));
} else {
  console.log(`BAR0 register write: Atomics.store ${row.atomics_store_ns.toFixed(2)} ns, DeviceRegister.write32 ${row.write32_ns.toFixed(2)} ns (${row.speedup.toFixed(1)}x), median of ${rounds} alternating rounds`);
}
