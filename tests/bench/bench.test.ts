// Smoke test of `tinynf bench`: a tiny run produces well-formed JSON rows (no timed assertions: the numbers depend
// on the machine and its load), the report formats them, and the latency reader computes what a pcap holds.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { formatReport } from '../../bench/bench';
import { Row, latencyFromPcap } from '../../bench/measure';
import { STAMP_OFFSET_UDP, TrafficGenerator } from '../../src/sim/wires/generator';
import { PcapWriter } from '../../src/sim/wires/pcap';

const BIN = path.join(__dirname, '..', '..', '..', 'bin', 'tinynf.js');

describe('tinynf bench', () => {
  let rows: Row[] = [];

  beforeAll(() => {
    const r = spawnSync(
      process.execPath,
      [BIN, 'bench', '--quick', '--json', '--ndr', '--nf', 'nop', '--model', 'restricted', 'flexible', '--test', 'throughput', 'latency', '--duration', '0.1'],
      { encoding: 'utf8', timeout: 60_000 },
    );
    if (r.status !== 0) throw new Error(`tinynf bench exited ${r.status}: ${r.stderr}`);
    // progress on stderr, one line per row
    expect(r.stderr).toMatch(/\[1\/4\] throughput nop restricted: /);
    const last = r.stdout.trimEnd().split('\n').pop()!;
    rows = JSON.parse(last) as Row[];
  }, 70_000);

  it('prints one JSON array of well-formed rows as the last stdout line', () => {
    expect(rows.map((r) => `${r.test} ${r.nf} ${r.model}`)).toEqual([
      'throughput nop restricted',
      'throughput nop flexible',
      'latency nop restricted',
      'latency nop flexible',
    ]);
    for (const r of rows) {
      expect(['restricted', 'flexible', 'compat']).toContain(r.model);
      for (const k of ['mpps', 'ns_per_packet', 'driver_capacity_mpps', 'sim_idle', 'sim_behind', 'offered_mpps', 'loss'] as const) {
        expect(typeof r[k]).toBe('number');
        expect(Number.isFinite(r[k])).toBe(true);
        expect(r[k]).toBeGreaterThanOrEqual(0);
      }
      expect(r.sim_idle).toBeLessThanOrEqual(1);
      expect(r.sim_behind).toBeLessThanOrEqual(1);
      expect(r.rx_packets).toBeGreaterThan(0); // packets went through the driver and the simulated NICs
      expect(r.violations).toBe(0);
      expect(r.input_ports).toEqual([0]);
      expect(['simulator', 'driver', 'stalls', 'line-rate', 'inline-simulator', 'fixed-load', 'oversubscribed', 'no-traffic']).toContain(r.limited_by);
      expect(Number.isInteger(r.preempted_rounds)).toBe(true);
      expect(r.others_cpu === null || r.others_cpu >= 0).toBe(true);
      expect(typeof r.contended).toBe('boolean');
      expect(r.sim).toBe('worker'); // the NICs ran in the simulator's worker thread
      expect(r.sim_threads).toBe(1);
    }
    const throughput = rows.filter((r) => r.test === 'throughput');
    for (const r of throughput) {
      // --ndr: a no-drop-rate search ran after the measured run at line rate
      expect(r.trials.length).toBeGreaterThan(0);
      expect(typeof r.ndr_mpps).toBe('number');
      expect(r.offered_mpps).toBeCloseTo(14.88, 2);
      expect(r.flows).toBe(1024); // nop has no table: FLOWS_WITHOUT_TABLE
      expect(r.nic_tx_packets).toBeGreaterThan(0);
    }
    for (const r of rows.filter((x) => x.test === 'latency')) expect(r.ndr_mpps).toBeNull();
    for (const r of rows.filter((x) => x.test === 'latency')) {
      const l = r.latency_ns!;
      expect(l.samples).toBeGreaterThan(0);
      expect(l.p50).toBeLessThanOrEqual(l.p99);
      expect(l.p99).toBeLessThanOrEqual(l.p999);
      expect(l.p999).toBeLessThanOrEqual(l.max);
    }
  });

  it('formats a table row per result and the restricted/flexible comparison', () => {
    const text = formatReport({ rows, notes: ['a note'], date: '2026-11-22' });
    expect(text).toMatch(/^throughput \(64-byte frames offered at line rate/m);
    expect(text).toMatch(/^nf +model +thr +Mpps +NDR Mpps +ns\/pkt/m);
    expect(text).toMatch(/^nop +restricted +1 /m);
    expect(text).toMatch(/^nop +flexible +1 /m);
    expect(text).toMatch(/^latency \(wire to wire/m);
    expect(text).toMatch(/restricted vs flexible.*nop [0-9.]+x/);
    expect(text).toMatch(/^- a note$/m);
  });
});

describe('latencyFromPcap', () => {
  it('computes departure time minus the stamped due time of every frame', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tinynf-lat-'));
    try {
      const file = path.join(dir, 'x.pcap');
      const writer = new PcapWriter(file, { snaplen: STAMP_OFFSET_UDP + 16 });
      const gen = new TrafficGenerator({ rate: 1, stamp: true, startNs: 5_000 }); // frame k due at 5000 + 1000 k ns
      const frame = new Uint8Array(2048);
      const delays = [100, 200, 300, 400, 10_000];
      for (let k = 0; k < delays.length; k++) {
        const due = 5_000 + 1_000 * k;
        const length = gen.next(frame, due);
        writer.frame(frame, length, due + delays[k]);
      }
      writer.close();
      const l = latencyFromPcap(file);
      expect(l.samples).toBe(5);
      expect(l.p50).toBe(300);
      expect(l.max).toBe(10_000);
      expect(l.mean).toBe(2_200);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('tinynf bench --test simulator', () => {
  it("prints the in-memory NIC's own capacity as one row {test: 'simulator', ports, mpps_per_port, ns_per_frame}", () => {
    const r = spawnSync(process.execPath, [BIN, 'bench', '--test', 'simulator', '--json', '--duration', '0.3'], { encoding: 'utf8', timeout: 60_000 });
    expect(r.status).toBe(0);
    const rows = JSON.parse(r.stdout.trimEnd().split('\n').pop()!) as Record<string, unknown>[];
    expect(rows).toHaveLength(1);
    const row = rows[0];
    expect(row.test).toBe('simulator');
    expect(row.ports).toBe(2);
    expect(row.frames as number).toBeGreaterThan(0);
    expect(row.ns_per_frame as number).toBeGreaterThan(0);
    // mpps_per_port is derived from ns_per_frame: 1000 / ns / ports (rounded)
    expect(row.mpps_per_port as number).toBeCloseTo(1000 / (row.ns_per_frame as number) / 2, 1);
  }, 70_000);
});
