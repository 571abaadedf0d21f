// Pcap round trip (issue 3): a capture replayed onto a simulated port, received by the real driver, forwarded by an
// NF, transmitted by the other port into a pcap file that tcpdump reads back; the frames must be the input's, byte
// for byte (short frames padded to 60 bytes with zeros: by the pcap replay, as the replaying host's NIC would, so the
// receiving NIC sees no runt; the transmitting NIC would pad them too, Section 8.2.3.22.8 HLREG0.TXPADEN).
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { CoarseClock } from '../../src/nf/lib/coarse-clock';
import { createMacRewrite, createNop } from '../../src/nf/simple';
import { closeWire, createInput, createOutput } from '../../src/sim/wires/describe';
import { PcapInput, PcapWriter, readPcap } from '../../src/sim/wires/pcap';
import { DriverModel, Testbed } from '../../src/app/testbed';

const tcpdumpVersion = spawnSync('tcpdump', ['--version'], { encoding: 'utf8' });
const haveTcpdump = tcpdumpVersion.status === 0;
if (!haveTcpdump) {
  // eslint-disable-next-line no-console
  console.warn('SKIPPED: tcpdump is not installed (apt-get install -y tcpdump): pcap round trip not checked by tcpdump');
}
const itWithTcpdump = haveTcpdump ? it : it.skip;

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tinynf-pcap-roundtrip-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function hex(s: string): number[] {
  const out: number[] = [];
  for (let i = 0; i < s.length; i += 2) out.push(parseInt(s.slice(i, i + 2), 16));
  return out;
}

/** A variety of frames without FCS: ARP (42 B, padded on transmit), IPv4 UDP/TCP, VLAN, IPv6, 1514 B. */
function frames(): Uint8Array[] {
  const mac = (last: number) => [0x02, 0x00, 0x00, 0x00, 0x00, last];
  const out: Uint8Array[] = [];
  // ARP request 10.0.0.1 -> who has 10.0.0.2 (42 bytes)
  out.push(Uint8Array.from([...[0xff, 0xff, 0xff, 0xff, 0xff, 0xff], ...mac(1), 0x08, 0x06, ...hex('0001080006040001'), ...mac(1), 10, 0, 0, 1, 0, 0, 0, 0, 0, 0, 10, 0, 0, 2]));
  const ipv4 = (proto: number, payload: number[]) => {
    const total = 20 + payload.length;
    return [0x45, 0, total >> 8, total & 0xff, 0, 1, 0x40, 0, 64, proto, 0, 0, 10, 0, 0, 1, 10, 1, 0, 1, ...payload];
  };
  for (let n = 0; n < 40; n++) {
    const size = [60, 64, 128, 333, 512, 1000, 1514, 61][n % 8];
    const udpLen = size - 14 - 20;
    const payload = Array.from({ length: udpLen - 8 }, (_v, i) => (i * 13 + n) & 0xff);
    const udp = [0x04, 0x00 + (n & 0xff), 0x00, 0x50, udpLen >> 8, udpLen & 0xff, 0, 0, ...payload];
    out.push(Uint8Array.from([...mac(2), ...mac(1), 0x08, 0x00, ...ipv4(17, udp)]));
  }
  // TCP SYN (54 bytes: padded)
  out.push(Uint8Array.from([...mac(2), ...mac(1), 0x08, 0x00, ...ipv4(6, [0x30, 0x39, 0x00, 0x50, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0xff, 0xff, 0, 0, 0, 0])]));
  // 802.1Q VLAN 100, IPv4 UDP
  out.push(Uint8Array.from([...mac(2), ...mac(1), 0x81, 0x00, 0x00, 0x64, 0x08, 0x00, ...ipv4(17, [0, 53, 0, 53, 0, 58, 0, 0, ...Array.from({ length: 50 }, (_v, i) => i)])]));
  // IPv6 UDP (no extension headers)
  const v6payload = Array.from({ length: 100 }, (_v, i) => 255 - i);
  out.push(
    Uint8Array.from([
      ...[0x33, 0x33, 0, 0, 0, 1], ...mac(1), 0x86, 0xdd,
      0x60, 0, 0, 0, 0, 108, 17, 64, ...hex('fe800000000000000000000000000001'), ...hex('ff020000000000000000000000000001'),
      0x12, 0x34, 0x56, 0x78, 0, 108, 0, 0, ...v6payload,
    ]),
  );
  return out;
}

/** Write `list` as a big-endian, microsecond pcap (the variant our writer never produces), times 1.5 ms apart. */
function writeBigEndianPcap(file: string, list: Uint8Array[]): void {
  const size = 24 + list.reduce((a, f) => a + 16 + f.length, 0);
  const bytes = new Uint8Array(size);
  const v = new DataView(bytes.buffer);
  v.setUint32(0, 0xa1b2c3d4, false);
  v.setUint16(4, 2, false);
  v.setUint16(6, 4, false);
  v.setUint32(16, 65535, false);
  v.setUint32(20, 1, false);
  let at = 24;
  list.forEach((f, i) => {
    const us = 1_700_000_000 * 1e6 + i * 1500;
    v.setUint32(at, Math.floor(us / 1e6), false);
    v.setUint32(at + 4, us % 1e6, false);
    v.setUint32(at + 8, f.length, false);
    v.setUint32(at + 12, f.length, false);
    bytes.set(f, at + 16);
    at += 16 + f.length;
  });
  fs.writeFileSync(file, bytes);
}

/** The frames tcpdump reads from `file` (`tcpdump -r file -nn -xx`: every byte, link-level header included). */
function tcpdumpFrames(file: string): Uint8Array[] {
  const r = spawnSync('tcpdump', ['-r', file, '-nn', '-xx'], { encoding: 'utf8', timeout: 20_000 });
  if (r.status !== 0) throw new Error(`tcpdump -r ${file} failed (${r.status}): ${r.stderr}`);
  const out: number[][] = [];
  for (const line of r.stdout.split('\n')) {
    const m = /^\s+0x[0-9a-f]{4}:\s+((?:[0-9a-f]{2,4}\s?)+)/.exec(line);
    if (m !== null) {
      out[out.length - 1].push(...hex(m[1].replace(/\s+/g, '')));
    } else if (line.length > 0 && !/^\s/.test(line)) {
      out.push([]); // a packet's summary line starts each packet
    }
  }
  return out.map((b) => Uint8Array.from(b));
}

/** Replay `input` on port 0 of a testbed running `nf`; port 1's transmissions go to `output`. Returns the count. */
function replay(model: DriverModel, nfName: 'nop' | 'macrewrite', input: string, output: string): number {
  const tb = Testbed.create({ ports: 2, model });
  const create = nfName === 'nop' ? createNop : createMacRewrite;
  tb.attach(create({}, { clock: new CoarseClock({ nowNs: () => tb.machine.nowNs() }), ports: 2 }));
  // the testbed's own wires are replaced/joined by the pcap descriptions (as `tinynf sim --pcap-in/--pcap-out` does)
  const wireIn = createInput({ kind: 'pcap', path: input, timing: 'recorded' }) as PcapInput;
  const wireOut = createOutput({ kind: 'pcap-out', path: output, epochSeconds: 1_700_000_000 }) as PcapWriter;
  tb.machine.nic(0).attachInput(wireIn);
  tb.machine.nic(1).attachOutput(wireOut);
  for (let round = 0; round < 20_000 && wireOut.packets < wireIn.packetCount; round++) tb.step(10);
  tb.run();
  closeWire(wireOut);
  expect(tb.violations).toEqual([]);
  expect(tb.machine.nic(0).stats.rxMissed).toBe(0); // no runt either: the replay padded the short frames
  return wireOut.packets;
}

describe('pcap round trip through the simulated NIC and the driver', () => {
  const input = () => path.join(dir, 'input.pcap');
  beforeAll(() => writeBigEndianPcap(input(), frames()));

  itWithTcpdump('tcpdump reads the hand-made input capture as the frames we wrote', () => {
    const read = tcpdumpFrames(input());
    expect(read.map((f) => Array.from(f))).toEqual(frames().map((f) => Array.from(f)));
  });

  it.each(['restricted', 'flexible', 'compat'] as const)('nop (%s model): the output capture holds the input frames, byte-equal per tcpdump', (model) => {
    const output = path.join(dir, `nop-${model}.pcap`);
    const sent = frames();
    expect(replay(model, 'nop', input(), output)).toBe(sent.length);
    const expected = sent.map((f) => {
      const padded = new Uint8Array(Math.max(f.length, 60)); // short frames padded with zeros
      padded.set(f);
      return Array.from(padded);
    });
    // our reader agrees with tcpdump, and the timestamps come from the simulated clock (+ the epoch), in order
    const parsed = readPcap(output);
    expect(parsed.records.map((r) => Array.from(r.data))).toEqual(expected);
    for (let i = 1; i < parsed.records.length; i++) expect(parsed.records[i].timeNs).toBeGreaterThanOrEqual(parsed.records[i - 1].timeNs);
    expect(parsed.records[0].timeNs).toBeGreaterThanOrEqual(1_700_000_000 * 1e9);
    // 'recorded' timing: the frames were 1.5 ms apart in the capture, and so they leave (give or take the forwarding)
    const span = parsed.records[parsed.records.length - 1].timeNs - parsed.records[0].timeNs;
    expect(span).toBeGreaterThanOrEqual((sent.length - 1) * 1.5e6 - 100_000);
    if (haveTcpdump) expect(tcpdumpFrames(output).map((f) => Array.from(f))).toEqual(expected);
  });

  itWithTcpdump('macrewrite: tcpdump sees the MAC addresses rewritten and everything else unchanged', () => {
    const output = path.join(dir, 'macrewrite.pcap');
    const sent = frames();
    expect(replay('restricted', 'macrewrite', input(), output)).toBe(sent.length);
    const got = tcpdumpFrames(output);
    expect(got).toHaveLength(sent.length);
    got.forEach((f, i) => {
      expect(Array.from(f.subarray(0, 12))).toEqual([0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
      expect(Array.from(f.subarray(12, sent[i].length))).toEqual(Array.from(sent[i].subarray(12)));
      expect(f.length).toBe(Math.max(sent[i].length, 60));
    });
    // tcpdump's own decoding of one frame: the rewritten MACs and the untouched IPv4/UDP header
    const text = spawnSync('tcpdump', ['-r', output, '-nn', '-e', '-c', '2'], { encoding: 'utf8' }).stdout;
    expect(text).toMatch(/00:00:00:00:00:00 > 00:00:00:00:00:01, ethertype IPv4 \(0x0800\), length 60: 10\.0\.0\.1\.1024 > 10\.1\.0\.1\.80: UDP, length 18/);
  });
});
