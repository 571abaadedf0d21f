// The benchmark suite behind `tinynf bench` and `npm run bench` (issue 6): every registered NF x driver model on two
// simulated 82599 ports whose NICs run in a worker thread (the other core), with
//  - throughput: Mpps out of the NICs at the maximum offered load (and, with `ndr`, the no-drop rate) and the
//    driver + NF cost (ns per packet of busy driver time), 64-byte frames, flows filling 90% of the NF's table; the
//    driver's busy fraction and the simulator's idle fraction say which one gave out (a simulator-limited row is
//    flagged);
//  - the same with both ports as input (bidirectional);
//  - wire-to-wire latency (median, 99th, 99.9th percentile) at a fixed load below saturation, per model;
//  - the policer's agents on worker threads (both in one worker, then one per worker) for multi-core scaling.
// Every row runs in a fresh child process (bench/row.ts).
import { spawn } from 'child_process';
import * as os from 'os';
import * as path from 'path';
import { DRIVER_MODELS, DriverModel } from '../src/app/driver-ports';
import { parseSimThreads } from '../src/app/run-nf';
import { NETWORK_FUNCTIONS } from '../src/nf';
import { CONTENDED_CPUS, CONTENDED_SLOWDOWN, LINE_RATE_MPPS, Row, RunTiming, TestKind } from './measure';
import { workerAvailable } from './platform';
import type { Job } from './row';

/** The NFs of issue 6, in its order; other registered NFs are benchmarked after them. */
export const BENCH_NFS = ['nop', 'macrewrite', 'maclookup', 'policer', 'nat', 'bridge', 'firewall', 'lb'];
export const TEST_KINDS: readonly TestKind[] = ['throughput', 'bidirectional', 'latency', 'multicore'];
/** Offered load of latency runs, Mpps on one port: below what the simulator (stamping, writing the pcap: ~1 Mpps) and every model sustain. */
export const LATENCY_LOAD_MPPS = 0.5;

export interface BenchOptions {
  quick?: boolean;
  /** NFs (default: every registered NF, issue 6's first). */
  nfs?: readonly string[];
  models?: readonly DriverModel[];
  tests?: readonly TestKind[];
  /** Seconds of each row's measured run (default 2, quick 0.1). */
  durationS?: number;
  /** Also search the no-drop rate of throughput rows (slow, and fragile on a shared machine). */
  ndr?: boolean;
  /** Simulator threads of the worker-mode rows: 1 (default) or 2 (each port in a thread of its own). */
  simThreads?: number;
  /** Progress lines (stderr). */
  log?: (line: string) => void;
}

export interface BenchResult {
  rows: Row[];
  notes: string[];
  date: string;
}

interface PlannedJob {
  label: string;
  job: Job;
}

/**
 * Quick: the whole suite in under a minute. Both: a warm-up long enough for the JIT of both threads (the
 * simulator's worker is a fresh isolate every row; its code takes ~0.3 s to be optimised). The NDR search (`ndr`):
 * 3 trials (quick) or 8 of 0.25 s; longer trials would nearly always include a stall of the simulator's thread.
 */
export function timingFor(quick: boolean, durationS?: number, ndr = false): RunTiming {
  return quick
    ? { warmupS: 0.5, durationS: durationS ?? 0.2, ndr, trialS: 0.05, backlogUs: 20, startMpps: 2, maxTrials: 3, growth: 2 }
    : { warmupS: 1, durationS: durationS ?? 2, ndr, trialS: 0.25, backlogUs: 20, startMpps: 2, maxTrials: 8, growth: 2 };
}

/**
 * V8 flags of the row processes: a larger initial old generation, so that the garbage of each trial's traffic
 * generator (one template per flow: ~60,000 for the NFs with tables) does not set off mark-compact collections,
 * ~10 ms pauses of the simulator's thread, in the middle of trials.
 */
export const ROW_NODE_FLAGS = ['--initial-old-space-size=256'];

/** Run one job in a fresh node process. */
export function runJobInChild(job: Job): Promise<Row> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...ROW_NODE_FLAGS, path.join(__dirname, 'row.js'), JSON.stringify(job)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const last = out.trim().split('\n').pop() ?? '';
      if (code !== 0 || !last.startsWith('{')) {
        return reject(new Error(`${job.test} ${job.nf} ${job.model} failed (exit ${code}): ${err.trim().split('\n').slice(0, 3).join(' | ')}`));
      }
      resolve(JSON.parse(last) as Row);
    });
  });
}

export async function runBench(options: BenchOptions = {}): Promise<BenchResult> {
  const log = options.log ?? (() => undefined);
  const quick = options.quick === true;
  const base = timingFor(quick, options.durationS, options.ndr === true);
  const models = options.models ?? DRIVER_MODELS;
  const tests = new Set(options.tests ?? TEST_KINDS);
  const notes: string[] = [];
  const simThreads = parseSimThreads(options.simThreads ?? 1, 'simThreads');
  const cores = os.cpus().length;
  if (simThreads === 2 && cores < 3) {
    notes.push(`--sim-threads 2: ${cores} cores here; the driver and 2 simulator threads are 3 spinning threads, so the rows are oversubscribed`);
  }
  const registered = Object.keys(NETWORK_FUNCTIONS);
  let nfs: string[];
  if (options.nfs !== undefined) {
    nfs = [];
    for (const n of options.nfs) {
      if (registered.includes(n)) nfs.push(n);
      else notes.push(`${n}: not registered in this build (available: ${registered.join(', ')}); skipped`);
    }
  } else {
    nfs = [...BENCH_NFS.filter((n) => registered.includes(n)), ...registered.filter((n) => !BENCH_NFS.includes(n))];
    const absent = BENCH_NFS.filter((n) => !registered.includes(n));
    if (absent.length > 0) notes.push(`not registered in this build, skipped: ${absent.join(', ')}`);
  }
  if (!workerAvailable()) {
    notes.push('the simulator worker (src/sim/worker.ts) is not available: NICs ran inline in the driver thread; ns/packet includes simulator time');
  }

  const planned: PlannedJob[] = [];
  const add = (label: string, job: Omit<Job, 'timing'>, timing: RunTiming = base): void => {
    planned.push({ label, job: simThreads === 1 ? { ...job, timing } : { ...job, timing, simThreads } });
  };
  if (tests.has('throughput')) for (const nf of nfs) for (const m of models) add(`throughput ${nf} ${m}`, { test: 'throughput', nf, model: m });
  if (tests.has('bidirectional')) {
    // quick: the no-op only; full: every NF
    const biNfs = quick ? nfs.filter((n) => n === 'nop') : nfs;
    for (const nf of biNfs) for (const m of models) add(`bidirectional ${nf} ${m}`, { test: 'bidirectional', nf, model: m });
  }
  if (tests.has('latency')) {
    // quick: the no-op (or the first NF); full: also the policer
    const latNfs = nfs.includes('nop') ? ['nop'] : nfs.slice(0, 1);
    if (!quick && nfs.includes('policer')) latNfs.push('policer');
    for (const nf of latNfs) {
      for (const m of models) add(`latency ${nf} ${m} at ${LATENCY_LOAD_MPPS} Mpps`, { test: 'latency', nf, model: m, latencyMpps: LATENCY_LOAD_MPPS });
    }
  }
  if (tests.has('multicore')) {
    if (nfs.includes('policer') && models.includes('restricted')) {
      if (!tests.has('bidirectional') || quick) add('bidirectional policer restricted (main thread)', { test: 'bidirectional', nf: 'policer', model: 'restricted' });
      add('multicore policer: both agents in 1 worker', { test: 'multicore', nf: 'policer', model: 'restricted', workers: 1 });
      // 2 agent workers + the simulator's worker(s) need 3 cores (4); with fewer the threads are time-sliced (the
      // row is flagged 'oversubscribed'; an NDR search, if asked for, is cut short)
      const spinning = 2 + simThreads;
      add('multicore policer: 2 workers, one agent each', { test: 'multicore', nf: 'policer', model: 'restricted', workers: 2 },
        cores >= spinning ? base : { ...base, maxTrials: 3, bracketTrials: 3, startMpps: 1 });
      if (cores < spinning) notes.push(`multicore: ${cores} cores here; 2 agent workers + ${simThreads === 1 ? "the simulator's worker" : '2 simulator workers'} are ${spinning} spinning threads, so the 2-worker row is oversubscribed and shows no scaling`);
    } else {
      notes.push('multicore: needs the policer and the restricted model; skipped');
    }
  }

  const rows: Row[] = [];
  const width = String(planned.length).length;
  // With `ndr`, the no-drop rate of the same NF in the same test on the previous model seeds the next search: start
  // just below it and move in 25% steps, which saves most trials. (Other NFs' rates are no guide: they differ 20-fold.)
  const hints = new Map<string, number>();
  for (let i = 0; i < planned.length; i++) {
    const { label, job } = planned[i];
    const key = `${job.test}/${job.nf}/${job.workers ?? 1}`; // NDR searches only
    const hint = hints.get(key);
    if (hint !== undefined && job.test !== 'latency') job.timing = { ...job.timing, startMpps: hint * 0.9, growth: 1.25 };
    const started = performance.now();
    let row: Row;
    try {
      row = await runJobInChild(job);
    } catch (e) {
      notes.push((e as Error).message);
      log(`[${String(i + 1).padStart(width)}/${planned.length}] ${label}: FAILED: ${(e as Error).message}`);
      continue;
    }
    rows.push(row);
    for (const v of row.violation_details ?? []) notes.push(`${label}: violation ${v}`);
    if (row.ndr_mpps !== null && row.ndr_mpps > 0 && row.limited_by !== 'oversubscribed') hints.set(key, row.ndr_mpps / row.input_ports.length);
    const lat = row.latency_ns;
    log(
      `[${String(i + 1).padStart(width)}/${planned.length}] ${label}: ${row.mpps.toFixed(2)} Mpps` +
        (row.ndr_mpps !== null ? ` (NDR ${row.ndr_mpps.toFixed(2)})` : '') +
        `, ${row.ns_per_packet.toFixed(1)} ns/packet` +
        (lat !== undefined ? `, latency p50 ${us(lat.p50)} p99 ${us(lat.p99)} p99.9 ${us(lat.p999)}` : `, limited by ${row.limited_by}`) +
        `, sim idle ${pct(row.sim_idle)}, behind ${pct(row.sim_behind)}` +
        (row.others_cpu !== null && row.others_cpu >= CONTENDED_CPUS ? `, CONTENDED (other processes used ${row.others_cpu} CPUs)` : '') +
        `, calibration ${row.calibration_ns.toFixed(2)} ns` +
        (row.violations > 0 ? `, ${row.violations} VIOLATIONS` : '') +
        ` (${((performance.now() - started) / 1000).toFixed(1)} s)`,
    );
  }
  markSlowRows(rows);
  return { rows, notes, date: new Date().toISOString() };
}

/** Rows whose core ran CONTENDED_SLOWDOWN times slower than the run's fastest (by calibration) are contended. */
export function markSlowRows(rows: Row[]): void {
  const best = Math.min(...rows.map((r) => (r.calibration_ns > 0 ? r.calibration_ns : Infinity)));
  if (!Number.isFinite(best)) return;
  for (const r of rows) if (r.calibration_ns > best * CONTENDED_SLOWDOWN) r.contended = true;
}

function pct(v: number | null): string {
  return v === null ? '-' : `${(v * 100).toFixed(1)}%`;
}

/** Other processes' CPU use during the row and the core's speed (calibration), starred when the row is contended. */
function others(r: Row): string {
  return `${r.others_cpu === null ? '-' : r.others_cpu.toFixed(2)}/${r.calibration_ns.toFixed(2)}${r.contended ? '*' : ''}`;
}

function us(ns: number): string {
  return `${(ns / 1000).toFixed(2)} us`;
}

/** The readable report: one table per test kind, then the comparisons issue 6 asks for. */
export function formatReport(result: BenchResult): string {
  const out: string[] = [];
  const rows = result.rows;
  if (rows.some((r) => r.sim_threads > 1)) out.push('simulator: a worker thread per port (--sim-threads 2)');
  const kinds = TEST_KINDS.filter((k) => rows.some((r) => r.test === k));
  for (const kind of kinds) {
    const sel = rows.filter((r) => r.test === kind);
    const withNdr = sel.some((r) => r.ndr_mpps !== null);
    out.push(
      kind === 'latency'
        ? `latency (wire to wire, offered ${sel[0].offered_mpps} Mpps on port ${sel[0].input_ports[0]}):`
        : `${kind} (64-byte frames offered at line rate on ${kind === 'throughput' ? 'the input port' : 'both ports'}; 'cap' = 1000 / ns per packet${kind === 'multicore' ? ' x threads; ns/pkt = threads x wall time / packets' : ''}):`,
    );
    const header =
      kind === 'latency'
        ? ['nf', 'model', 'Mpps', 'p50 us', 'p99 us', 'p99.9 us', 'max us', 'samples', 'loss', 'others']
        : ['nf', 'model', 'thr', 'Mpps', ...(withNdr ? ['NDR Mpps'] : []), 'ns/pkt', 'cap Mpps', 'busy', 'sim idle', 'limited by', 'missed', 'stalls', 'others'];
    const lines = sel.map((r) =>
      kind === 'latency'
        ? [r.nf, r.model, r.mpps.toFixed(2), ...[r.latency_ns!.p50, r.latency_ns!.p99, r.latency_ns!.p999, r.latency_ns!.max].map((v) => (v / 1000).toFixed(2)), String(r.latency_ns!.samples), pct(r.loss), others(r)]
        : [
            r.nf,
            r.model,
            String(r.threads),
            r.mpps.toFixed(2),
            ...(withNdr ? [r.ndr_mpps === null ? '-' : r.ndr_mpps.toFixed(2)] : []),
            r.ns_per_packet.toFixed(1),
            r.driver_capacity_mpps.toFixed(2),
            r.test !== 'multicore' ? pct(r.driver_busy) : '-',
            pct(r.sim_idle),
            r.limited_by,
            pct(r.loss),
            r.test !== 'multicore' ? `${r.driver_stalls}/${r.driver_stalled_ms.toFixed(1)}ms` : '-',
            others(r),
          ],
    );
    out.push(table(header, lines));
    out.push('');
  }
  out.push(...comparisons(rows));
  if (result.notes.length > 0) out.push('', 'notes:', ...result.notes.map((n) => `- ${n}`));
  return out.join('\n') + '\n';
}

/** Restricted vs flexible, no-op capacity vs line rate, multi-core. */
export function comparisons(rows: readonly Row[]): string[] {
  const out: string[] = [];
  const uni = rows.filter((r) => r.test === 'throughput');
  const nop = uni.find((r) => r.nf === 'nop' && r.model === 'restricted');
  const need = 2 * LINE_RATE_MPPS;
  if (nop !== undefined) {
    out.push(
      `no-op restricted driver capacity (NICs on the other core): ${nop.driver_capacity_mpps.toFixed(2)} Mpps on one core (${nop.ns_per_packet.toFixed(1)} ns/packet); ` +
        `2 x 10G line rate is ${need.toFixed(2)} Mpps (${(1000 / need).toFixed(1)} ns/packet): ` +
        (nop.driver_capacity_mpps >= need ? 'met' : `missed by ${(100 * (1 - nop.driver_capacity_mpps / need)).toFixed(0)}%`),
    );
  }
  const contended = rows.filter((r) => r.contended).length;
  if (contended > 0) {
    out.push(
      `${contended} row(s) marked * ran on a shared machine (column 'others' = CPUs' worth used by other processes / ns per calibration iteration): ` +
        `other processes used >= ${CONTENDED_CPUS} CPUs, or the core ran >= ${CONTENDED_SLOWDOWN}x slower than in the run's fastest row; their numbers are disturbed`,
    );
  }
  const simLimited = rows.filter((r) => r.test !== 'latency' && r.limited_by === 'simulator').length;
  if (simLimited > 0) {
    out.push(`${simLimited} row(s) limited by the simulator: their Mpps is the in-memory NIC's, not the driver's; their ns/packet is still the driver's`);
  }
  const stalled = rows.filter((r) => r.test !== 'latency' && r.limited_by === 'stalls').length;
  if (stalled > 0) {
    out.push(`${stalled} row(s) limited by stalls: neither the driver nor the simulator was saturated; the shortfall went to threads losing the CPU (column 'stalls') or to the host's slow spells`);
  }
  const nfs = [...new Set(uni.map((r) => r.nf))];
  const cmp: string[] = [];
  for (const nf of nfs) {
    const r = uni.find((x) => x.nf === nf && x.model === 'restricted');
    const f = uni.find((x) => x.nf === nf && x.model === 'flexible');
    if (r === undefined || f === undefined || r.ns_per_packet === 0) continue;
    cmp.push(`${nf} ${(f.ns_per_packet / r.ns_per_packet).toFixed(2)}x`);
  }
  if (cmp.length > 0) out.push(`restricted vs flexible, driver + NF cost (flexible ns/packet / restricted ns/packet; >= 1: restricted as fast or faster): ${cmp.join(', ')}`);
  const m1 = rows.find((r) => r.test === 'multicore' && r.threads === 1);
  const m2 = rows.find((r) => r.test === 'multicore' && r.threads === 2);
  const bi = rows.find((r) => r.test === 'bidirectional' && r.nf === 'policer' && r.model === 'restricted');
  if (m2 !== undefined) {
    out.push(
      `policer, bidirectional, line rate offered on both ports: main thread ${bi?.mpps.toFixed(2) ?? '-'} Mpps, both agents in 1 worker ${m1?.mpps.toFixed(2) ?? '-'} Mpps, ` +
        `2 workers ${m2.mpps.toFixed(2)} Mpps (${os.cpus().length} cores here, one taken by the simulator's worker${m2.limited_by === 'oversubscribed' ? ': oversubscribed, no scaling to see' : ''})`,
    );
  }
  return out;
}

export function table(header: readonly string[], lines: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const numeric = (c: string): boolean => /^-?[0-9.]+%?$/.test(c) || c === '-';
  const fmt = (cells: readonly string[]): string =>
    cells.map((c, i) => (i >= 2 && numeric(c) ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ').trimEnd();
  return [fmt(header), fmt(widths.map((w) => '-'.repeat(w))), ...lines.map(fmt)].join('\n');
}
