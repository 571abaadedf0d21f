// One benchmark row in a fresh process (`node dist/bench/row.js '<job JSON>'`; the last stdout line is the row):
// JIT feedback must not leak from one NF or model to the next (a handler call site that has seen five NFs is
// megamorphic, which no single NF deployment would see).
import type { DriverModel } from '../src/app/driver-ports';
import { Row, RunTiming, TestKind, measureLatency, measureThroughput, measureWorkers } from './measure';

export interface Job {
  test: TestKind;
  nf: string;
  model: DriverModel;
  timing: RunTiming;
  /** multicore: agent worker threads. */
  workers?: 1 | 2;
  /** latency: offered load, Mpps. */
  latencyMpps?: number;
  /** Simulator threads (default 1; 2: a port per thread). */
  simThreads?: number;
}

export async function runJob(job: Job): Promise<Row> {
  const before = calibrate();
  const row = await measure(job);
  row.calibration_ns = Math.round(((before + calibrate()) / 2) * 100) / 100;
  return row;
}

/**
 * How fast this machine's memory answers right now: ns per step of a random pointer chase through 8 MiB (beyond the
 * per-core caches), the best of 3 x 50,000 steps. On a shared (virtual) machine, neighbours thrashing the shared
 * cache and memory slow the driver's descriptor and flow-table accesses (and the simulator) down without showing in
 * this machine's CPU accounting; bench.ts compares the rows' calibrations to flag the slowed ones.
 */
export function calibrate(): number {
  const next = chain();
  let best = Infinity;
  let at = 0;
  for (let round = 0; round < 4; round++) {
    const start = performance.now();
    for (let i = 0; i < CALIBRATION_STEPS; i++) at = next[at];
    // round 0 warms the JIT and the TLB up (not counted)
    if (round > 0) best = Math.min(best, ((performance.now() - start) * 1e6) / CALIBRATION_STEPS);
  }
  return at === -1 ? -1 : best; // `at` is used, so the chase is not optimised away
}

const CALIBRATION_STEPS = 50_000;
const CALIBRATION_ENTRIES = 1 << 21; // 8 MiB of Int32
let chainCache: Int32Array | null = null;

/** One random cycle through every entry (Sattolo's algorithm), with a fixed seed: the same walk every time. */
function chain(): Int32Array {
  if (chainCache !== null) return chainCache;
  const n = CALIBRATION_ENTRIES;
  const next = new Int32Array(n);
  for (let i = 0; i < n; i++) next[i] = i;
  let seed = 0x2545f491;
  for (let i = n - 1; i > 0; i--) {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    const j = (seed >>> 0) % i;
    const t = next[i];
    next[i] = next[j];
    next[j] = t;
  }
  chainCache = next;
  return next;
}

function measure(job: Job): Promise<Row> {
  switch (job.test) {
    case 'throughput':
      return measureThroughput(job.nf, job.model, 'uni', job.timing, job.simThreads);
    case 'bidirectional':
      return measureThroughput(job.nf, job.model, 'bi', job.timing, job.simThreads);
    case 'latency':
      return measureLatency(job.nf, job.model, job.latencyMpps ?? 1, job.timing, job.simThreads);
    case 'multicore':
      return measureWorkers(job.nf, job.workers ?? 2, job.timing, job.simThreads);
  }
}

if (require.main === module) {
  runJob(JSON.parse(process.argv[2]) as Job).then(
    (row) => process.stdout.write(JSON.stringify(row) + '\n'),
    (e: unknown) => {
      process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      process.exitCode = 1;
    },
  );
}
