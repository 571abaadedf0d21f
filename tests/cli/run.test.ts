// `tinynf run <nf> --sim --json`: the contract of ../shared/ARCHITECTURE.md, for every driver model.
import { spawnSync } from 'child_process';
import * as path from 'path';

const BIN = path.join(__dirname, '..', '..', '..', 'bin', 'tinynf.js');

function tinynf(...args: string[]) {
  return spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 60_000 });
}

describe('tinynf run --sim', () => {
  it.each(['restricted', 'flexible', 'compat'])('runs nop with the %s model and prints the JSON line', (model) => {
    const r = tinynf('run', 'nop', '--sim', '--duration', '0.5', '--json', '--model', model);
    expect(r.status).toBe(0);
    const lines = r.stdout.trim().split('\n');
    const row = JSON.parse(lines[lines.length - 1]);
    expect(row).toMatchObject({ nf: 'nop', model, violations: 0, dropped_packets: 0 });
    expect(row.tx_packets).toBeGreaterThan(0);
    expect(row.tx_packets).toBe(row.rx_packets);
    expect(row.mpps).toBeGreaterThan(0);
  });

  it('polices generated WAN traffic above the configured rate', () => {
    const r = tinynf('run', 'policer', '--sim', '--duration', '0.5', '--json', '--flows', '10', '--rate', '100000', '--burst', '10000');
    expect(r.status).toBe(0);
    const row = JSON.parse(r.stdout.trim().split('\n').pop()!);
    expect(row.counters.policed).toBeGreaterThan(0);
    expect(row.counters.passed).toBeGreaterThan(0);
    expect(row.dropped_packets).toBe(row.counters.policed);
    expect(row.violations).toBe(0);
  });

  it('rejects unknown NFs, foreign flags and bad values with one line', () => {
    for (const args of [
      ['run', 'nosuchnf', '--sim'],
      ['run', 'nop', '--sim', '--rate', '5'],
      ['run', 'policer', '--sim', '--burst', '-1'],
      ['run', 'nop', '--sim', '--model', 'fast'],
    ]) {
      const r = tinynf(...args);
      expect(r.status).toBe(1);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/^tinynf: /);
    }
  });
});
