// End to end: `tinynf run --pcap` captures what each simulated port transmits while real traffic crosses it, and
// tcpdump reads the files back.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawnSync } from 'child_process';
import { readPcap } from '../../src/sim/wires/pcap';
import { Exit, TINYNF_BIN, addr, describeE2e, expectSuccess, labUpPrivate, nsRun, startNf, tempDir, useScope } from './harness';

function tcpdump(file: string, filter: string[] = []): { lines: string[]; stderr: string } {
  const r = spawnSync('tcpdump', ['-r', file, '-n', '-e', '-tt', ...filter], { encoding: 'utf8', timeout: 10_000 });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`tcpdump -r ${file} failed: ${r.stderr.trim()}`);
  return { lines: r.stdout.split('\n').filter((l) => l.length > 0), stderr: r.stderr };
}

describeE2e('pcap', ['tcpdump', 'ping'], 'nop')('e2e: pcap capture of a run (root)', () => {
  const scope = useScope();

  test('ping through nop: each port capture, read by tcpdump -r, holds exactly the frames that port sent', async () => {
    const lab = labUpPrivate(scope, 'pcap');
    const dir = tempDir(scope, 'pcap');
    const lanPcap = path.join(dir, 'lan.pcap'); // what port 0 transmits: frames towards the lan namespace
    const wanPcap = path.join(dir, 'wan.pcap'); // what port 1 transmits: frames towards the wan namespace
    const started = Date.now() / 1000;
    const nf = await startNf(scope, lab, 'nop', { durationS: 3, args: ['--pcap', `${lanPcap},${wanPcap}`] });

    const ping: Exit = await nsRun(scope, lab.lan.netns, ['ping', '-n', '-c', '3', '-i', '0.2', '-W', '2', addr(lab.wan)], 8000);
    expectSuccess('ping from lan', ping, '3 packets transmitted, 3 received', nf);
    const summary = await nf.summary(); // the run ends: the pcap writers are flushed and closed
    expect(summary.violations).toBe(0);

    const wan = tcpdump(wanPcap);
    const lan = tcpdump(lanPcap);
    expect(wan.stderr).toContain('link-type EN10MB (Ethernet)');
    // Every frame the NIC transmitted is in a capture, and nothing else.
    expect(wan.lines.length + lan.lines.length).toBe(summary.tx_packets);

    // The echo requests went out of port 1 (to wan), the replies out of port 0 (to lan), with the lab's MACs.
    const requests = tcpdump(wanPcap, ['icmp[icmptype] == icmp-echo']).lines;
    const replies = tcpdump(lanPcap, ['icmp[icmptype] == icmp-echoreply']).lines;
    expect(requests).toHaveLength(3);
    expect(replies).toHaveLength(3);
    for (const [i, line] of requests.entries()) {
      expect(line).toContain(`${lab.lan.mac} > ${lab.wan.mac}, ethertype IPv4 (0x0800)`);
      expect(line).toContain(`${addr(lab.lan)} > ${addr(lab.wan)}: ICMP echo request`);
      expect(line).toContain(`seq ${i + 1},`);
    }
    for (const [i, line] of replies.entries()) {
      expect(line).toContain(`${lab.wan.mac} > ${lab.lan.mac}, ethertype IPv4 (0x0800)`);
      expect(line).toContain(`${addr(lab.wan)} > ${addr(lab.lan)}: ICMP echo reply`);
      expect(line).toContain(`seq ${i + 1},`);
    }
    // Timestamps: the run's time shifted to the wall clock at its start (not 1970), in order, ~0.2 s apart.
    const times = requests.map((l) => Number(l.split(' ')[0]));
    expect(times[0]).toBeGreaterThan(started - 5);
    expect(times[2]).toBeLessThan(Date.now() / 1000 + 5);
    expect(times[1] - times[0]).toBeGreaterThan(0.1);
    expect(times[2] - times[1]).toBeGreaterThan(0.1);
  }, 20_000);
});

// Without root: --pcap on generated traffic (what `tinynf run` captures does not depend on the wires).
describe('tinynf run --pcap (generated traffic)', () => {
  test('each port capture holds the frames that port transmitted; a bad --pcap value is one clear line', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tinynf-e2e-pcapgen-'));
    try {
      const files = [path.join(dir, 'lan.pcap'), path.join(dir, 'wan.pcap')];
      const r = spawnSync(process.execPath, [TINYNF_BIN, 'run', 'nop', '--sim', '--duration', '0.3', '--flows', '4', '--offered-mpps', '0.01', '--json', '--pcap', files.join(',')], {
        encoding: 'utf8',
        timeout: 30_000,
      });
      expect(r.status).toBe(0);
      const row = JSON.parse(r.stdout.trim().split('\n').pop()!) as { tx_packets: number; violations: number };
      expect(row.violations).toBe(0);
      const [lan, wan] = files.map((f) => readPcap(f));
      expect(lan.records.length + wan.records.length).toBe(row.tx_packets);
      expect(lan.records.length).toBeGreaterThan(0);
      // nop forwards WAN's generated frames (from 10.1.0.1) out of port 0 and LAN's (to 10.1.0.1) out of port 1.
      const ipv4 = (d: Uint8Array, at: number) => `${d[at]}.${d[at + 1]}.${d[at + 2]}.${d[at + 3]}`;
      for (const rec of lan.records) expect(ipv4(rec.data, 26)).toBe('10.1.0.1'); // IPv4 source
      for (const rec of wan.records) expect(ipv4(rec.data, 30)).toBe('10.1.0.1'); // IPv4 destination
      // Timestamps start near the wall clock of the run, not 1970.
      expect(Math.abs(lan.records[0].timeNs / 1e9 - Date.now() / 1000)).toBeLessThan(60);

      const bad = spawnSync(process.execPath, [TINYNF_BIN, 'run', 'nop', '--sim', '--duration', '0.1', '--pcap', 'only-one.pcap'], { encoding: 'utf8', timeout: 30_000 });
      expect(bad.status).toBe(1);
      expect(bad.stderr.trim().split('\n')).toEqual(["tinynf: --pcap takes two file names: LAN.pcap,WAN.pcap (got 'only-one.pcap')"]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);
});
