// tinynf run --pcap-in PORT=FILE (replay into the NF) and --capture PORT=FILE (what a port receives and transmits):
// replayed frames reach the NF unchanged, and the captures hold exactly what crossed each port's wire.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { PcapWriter, readPcap } from '../../src/sim/wires/pcap';

const BIN = path.join(__dirname, '..', '..', '..', 'bin', 'tinynf.js');
let dir = '';

function tinynf(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** 50 distinct frames, 60..109 bytes, 10 us apart (the whole capture: 0.49 ms of simulated time). */
function frames(): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < 50; i++) {
    const f = new Uint8Array(60 + i);
    f.set([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x88, 0xb5, i]);
    for (let j = 15; j < f.length; j++) f[j] = (i + j) & 0xff;
    out.push(f);
  }
  return out;
}

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tinynf-pcap-run-'));
  const w = new PcapWriter(path.join(dir, 'in.pcap'), { resolution: 'ns' });
  frames().forEach((f, i) => w.frame(f, f.length, i * 10_000));
  w.close();
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const bytes = (records: { data: Uint8Array }[]): string[] => records.map((r) => Buffer.from(r.data).toString('hex'));

describe('tinynf run --pcap-in / --capture', () => {
  it.each([['fast'], ['captured'], ['recorded']])('replays a pcap into port 0 (%s timing; recorded: the word of tinynf sim for captured); the captures show it in on port 0 and out on port 1', (timing) => {
    const r = tinynf('run', 'nop', '--sim', '--duration', '0.5', '--json', '--pcap-in', '0=in.pcap', '--pcap-timing', timing, '--capture', '0=c0.pcap', '--capture', '1=c1.pcap');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const j = JSON.parse(r.stdout.trim().split('\n').pop()!);
    expect(j.rx_packets).toBe(50);
    expect(j.tx_packets).toBe(50);
    const want = frames().map((f) => Buffer.from(f).toString('hex'));
    expect(bytes(readPcap(path.join(dir, 'c0.pcap')).records)).toEqual(want); // port 0 received them (and sent nothing)
    expect(bytes(readPcap(path.join(dir, 'c1.pcap')).records)).toEqual(want); // port 1 transmitted them (and received nothing)
    if (timing === 'captured') {
      const t = readPcap(path.join(dir, 'c0.pcap')).records.map((x) => x.timeNs);
      // 10 us apart, as captured (the inline NIC runs in 5 us steps: a frame is taken at most one step late)
      expect(t[49] - t[0]).toBeGreaterThanOrEqual(490_000 - 5_000);
      expect(t[49] - t[0]).toBeLessThan(490_000 + 20_000);
    }
  });

  it('generator flags shape the traffic: --protocol tcp --flows 3 --frame-size 100, as the capture shows', () => {
    const r = tinynf('run', 'nop', '--sim', '--duration', '0.2', '--json', '--protocol', 'tcp', '--flows', '3', '--frame-size', '100', '--capture', '0=g.pcap');
    expect(r.status).toBe(0);
    const records = readPcap(path.join(dir, 'g.pcap')).records;
    expect(records.length).toBeGreaterThan(10);
    // port 0 received its TCP frames and transmitted port 1's (also TCP)
    expect(records.every((x) => x.data[23] === 6)).toBe(true); // IPv4 protocol TCP
    expect(new Set(records.map((x) => x.data.length))).toEqual(new Set([100]));
    const sources = new Set(records.filter((x) => x.data[26] === 10 && x.data[27] === 0).map((x) => x.data[29])); // LAN flows vary the source
    expect(sources.size).toBe(3);
    expect(tinynf('run', 'nop', '--sim', '--protocol', 'icmp').stderr).toBe("tinynf: --protocol is 'udp' or 'tcp', got 'icmp'\n");
  });

  it('rejects bad values in one line', () => {
    expect(tinynf('run', 'nop', '--sim', '--pcap-in', '2=in.pcap').stderr).toBe("tinynf: --pcap-in takes PORT=FILE with PORT 0 (LAN) or 1 (WAN), got '2=in.pcap'\n");
    expect(tinynf('run', 'nop', '--sim', '--pcap-in', '0=none.pcap').stderr).toBe('tinynf: --pcap-in: no such file none.pcap\n');
    expect(tinynf('run', 'nop', '--sim', '--pcap-in', '0=in.pcap', '--pcap-timing', 'slow').stderr).toBe("tinynf: --pcap-timing is 'fast' or 'captured', got 'slow'\n");
  });
});
