// tinynf run --metrics: Prometheus text scraped over HTTP (Node's http client) while the NF runs.
import { spawn, spawnSync } from 'child_process';
import * as http from 'http';
import * as path from 'path';
import { exposition, parseMetricsAddress } from '../../src/app/metrics';
import { zeroCounters } from '../../src/ixgbe/statistics';

const BIN = path.join(__dirname, '..', '..', '..', 'bin', 'tinynf.js');

function get(url: string): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), body }));
      })
      .on('error', reject);
  });
}

/** metric{labels} value lines -> map "metric{labels}" -> value */
function samples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-z_]+\{[^}]*\}) (\S+)$/.exec(line);
    if (m === null) throw new Error(`not an exposition sample line: '${line}'`);
    out.set(m[1], Number(m[2]));
  }
  return out;
}

describe('tinynf run --metrics', () => {
  it('serves per-port NIC, driver and NF counters in Prometheus text format while running', async () => {
    const child = spawn(process.execPath, [BIN, 'run', 'policer', '--sim', '--duration', '3', '--metrics', '127.0.0.1:0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const url = await new Promise<string>((resolve, reject) => {
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
        const m = /metrics at (http:\/\/127\.0\.0\.1:\d+\/metrics)/.exec(stderr);
        if (m !== null) resolve(m[1]);
      });
      child.on('exit', () => reject(new Error(`exited before serving metrics: ${stderr}`)));
    });
    let got = new Map<string, number>();
    let last = { status: 0, type: '', body: '' };
    for (let i = 0; i < 40; i++) {
      last = await get(url);
      got = samples(last.body);
      if ((got.get('tinynf_rx_packets_total{nf="policer",model="restricted"}') ?? 0) > 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(last.status).toBe(200);
    expect(last.type).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(last.body).toMatch(/^# TYPE tinynf_rx_packets_total counter$/m);
    const l = 'nf="policer",model="restricted"';
    expect(got.get(`tinynf_rx_packets_total{${l}}`)).toBeGreaterThan(0);
    expect(got.get(`tinynf_nic_rx_good_packets_total{${l},port="0"}`)).toBeGreaterThan(0);
    expect(got.get(`tinynf_nic_rx_good_packets_total{${l},port="1"}`)).toBeGreaterThan(0);
    expect(got.has(`tinynf_nic_rx_missed_total{${l},port="0"}`)).toBe(true);
    expect(got.get(`tinynf_nf_counter{${l},name="passed"}`)).toBeGreaterThan(0);
    expect(got.has(`tinynf_handler_errors_total{${l}}`)).toBe(true);
    expect((await get(url.replace('/metrics', '/other'))).status).toBe(404);
    expect(await exited).toBe(0);
  }, 60_000);

  it('parses [HOST:]PORT and rejects the rest in one line', () => {
    expect(parseMetricsAddress('9100')).toEqual({ host: '127.0.0.1', port: 9100 });
    expect(parseMetricsAddress('0.0.0.0:9100')).toEqual({ host: '0.0.0.0', port: 9100 });
    expect(parseMetricsAddress('[::1]:9100')).toEqual({ host: '::1', port: 9100 });
    const r = spawnSync(process.execPath, [BIN, 'run', 'nop', '--sim', '--metrics', 'x:y'], { encoding: 'utf8' });
    expect(r.stderr).toBe("tinynf: --metrics takes [HOST:]PORT (e.g. 9100 or 0.0.0.0:9100), got 'x:y'\n");
  });

  it('escapes label values', () => {
    const text = exposition({ nf: 'a"b\\c', model: 'restricted', seconds: 1, rxPackets: 1, txPackets: 1, droppedPackets: 0, handlerErrors: 0, nic: [zeroCounters()], counters: { x: 1 } });
    expect(text).toContain('tinynf_rx_packets_total{nf="a\\"b\\\\c",model="restricted"} 1');
  });
});
