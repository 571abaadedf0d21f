import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawnSync } from 'child_process';
import { TinyNfError } from '../../src/env/environment';
import { TrafficGenerator } from '../../src/sim/wires/generator';
import { PcapInput, PcapWriter, parsePcap, readPcap } from '../../src/sim/wires/pcap';

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tinynf-pcap-'));
});
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

/** `n` generated frames (IMIX sizes, 10 flows) with distinct, irregular times. */
function sample(n: number): { frames: Uint8Array[]; times: number[] } {
  const gen = new TrafficGenerator({ flows: 10, frameSize: 'imix', order: 'random', seed: 5, stamp: true });
  const buf = new Uint8Array(2048);
  const frames: Uint8Array[] = [];
  const times: number[] = [];
  let t = 1_234_567_891; // ns: 1.23 s, with a sub-second part that is not a whole microsecond
  for (let i = 0; i < n; i++) {
    t += 1000 + ((i * 7919) % 3001); // ns
    frames.push(buf.slice(0, gen.next(buf, t)));
    times.push(t);
  }
  return { frames, times };
}

function writeFile(name: string, frames: Uint8Array[], times: number[], opts = {}): string {
  const file = path.join(dir, name);
  const w = new PcapWriter(file, opts);
  // The NIC hands the writer a larger buffer and a length: do the same.
  const big = new Uint8Array(4096);
  frames.forEach((f, i) => {
    big.fill(0xaa);
    big.set(f);
    w.frame(big, f.length, times[i]);
  });
  w.close();
  w.close(); // idempotent
  return file;
}

/** Rewrite a little-endian pcap file in big-endian byte order (every header field swapped). */
function toBigEndian(le: Uint8Array): Uint8Array {
  const out = Uint8Array.from(le);
  const src = new DataView(le.buffer, le.byteOffset, le.byteLength);
  const dst = new DataView(out.buffer);
  const swap32 = (at: number) => dst.setUint32(at, src.getUint32(at, true), false);
  const swap16 = (at: number) => dst.setUint16(at, src.getUint16(at, true), false);
  swap32(0);
  swap16(4);
  swap16(6);
  [8, 12, 16, 20].forEach(swap32);
  for (let at = 24; at < le.length; ) {
    const incl = src.getUint32(at + 8, true);
    [0, 4, 8, 12].forEach((k) => swap32(at + k));
    at += 16 + incl;
  }
  return out;
}

describe('pcap', () => {
  test('round trip with ns timestamps is byte-equal, in both byte orders', () => {
    const { frames, times } = sample(300);
    const file = writeFile('ns.pcap', frames, times);
    const bytes = fs.readFileSync(file);
    expect(bytes.readUInt32LE(0)).toBe(0xa1b23c4d);
    expect([bytes.readUInt16LE(4), bytes.readUInt16LE(6), bytes.readUInt32LE(16), bytes.readUInt32LE(20)]).toEqual([
      2, 4, 65535, 1,
    ]);
    for (const parsed of [readPcap(file), parsePcap(toBigEndian(bytes))]) {
      expect(parsed.resolution).toBe('ns');
      expect(parsed.records).toHaveLength(300);
      parsed.records.forEach((r, i) => {
        expect(Buffer.from(r.data).equals(Buffer.from(frames[i]))).toBe(true);
        expect(r.originalLength).toBe(frames[i].length);
        expect(r.timeNs).toBe(times[i]);
      });
    }
    expect(parsePcap(toBigEndian(bytes)).littleEndian).toBe(false);
  });

  test('µs resolution keeps whole microseconds; snaplen truncates; tiny buffers still work', () => {
    const { frames, times } = sample(50);
    const file = writeFile('us.pcap', frames, times, { resolution: 'us', snaplen: 100, bufferBytes: 64 });
    expect(fs.readFileSync(file).readUInt32LE(0)).toBe(0xa1b2c3d4);
    const parsed = readPcap(file);
    expect(parsed.resolution).toBe('us');
    expect(parsed.snaplen).toBe(100);
    parsed.records.forEach((r, i) => {
      expect(r.timeNs).toBe(Math.floor(times[i] / 1000) * 1000);
      expect(r.originalLength).toBe(frames[i].length);
      expect(Buffer.from(r.data).equals(Buffer.from(frames[i].subarray(0, 100)))).toBe(true);
    });
  });

  test('tcpdump reads the file with the right count', () => {
    const probe = spawnSync('tcpdump', ['--version'], { encoding: 'utf8' });
    if (probe.error) {
      console.warn('SKIPPED: tcpdump is not installed (apt-get install -y tcpdump); pcap not checked by tcpdump');
      return;
    }
    const { frames, times } = sample(123);
    for (const resolution of ['ns', 'us'] as const) {
      const file = writeFile(`tcpdump-${resolution}.pcap`, frames, times, { resolution });
      const r = spawnSync('tcpdump', ['-nn', '-r', file], { encoding: 'utf8', timeout: 20_000 });
      expect(r.status).toBe(0);
      const lines = r.stdout.trim().split('\n');
      expect(lines).toHaveLength(123);
      expect(lines[0]).toMatch(/IP 10\.0\.0\.\d+\.1024 > 10\.1\.0\.1\.80: UDP, length \d+/);
    }
  });

  test('malformed files give a clear TinyNfError', () => {
    const { frames, times } = sample(3);
    const good = fs.readFileSync(writeFile('good.pcap', frames, times));
    const cases: [Uint8Array, RegExp][] = [
      [good.subarray(0, 10), /shorter than the 24-byte global header/],
      [Buffer.concat([Buffer.from([1, 2, 3, 4]), good.subarray(4)]), /bad magic number 0x04030201/],
      [Buffer.concat([Buffer.from([0x0a, 0x0d, 0x0d, 0x0a]), good.subarray(4)]), /pcapng/],
      [good.subarray(0, good.length - 1), /record 2 at byte \d+: \d+ bytes announced, \d+ present/],
      [good.subarray(0, 24 + 10), /record 0 at byte 24: truncated header/],
    ];
    const linktype = Buffer.from(good);
    linktype.writeUInt32LE(101, 20);
    cases.push([linktype, /link type 101 is not Ethernet/]);
    const version = Buffer.from(good);
    version.writeUInt16LE(3, 4);
    cases.push([version, /unsupported version 3\.4/]);
    for (const [bytes, message] of cases) {
      expect(() => parsePcap(bytes, 'x.pcap')).toThrow(TinyNfError);
      expect(() => parsePcap(bytes, 'x.pcap')).toThrow(message);
    }
    const bad = path.join(dir, 'bad.pcap');
    fs.writeFileSync(bad, linktype);
    expect(() => new PcapInput(bad)).toThrow(/malformed pcap file .*bad\.pcap: link type 101/);
    expect(() => readPcap(path.join(dir, 'missing.pcap'))).toThrow(/cannot read pcap file/);
    const w = new PcapWriter(path.join(dir, 'closed.pcap'));
    w.close();
    expect(() => w.frame(frames[0], frames[0].length, 0)).toThrow(/closed/);
  });

  test('PcapInput replays as fast as asked, with loops', () => {
    const { frames, times } = sample(20);
    const file = writeFile('replay.pcap', frames, times);
    const input = new PcapInput(file, { loops: 3 });
    const buf = new Uint8Array(2048);
    const out: Buffer[] = [];
    for (let len = input.next(buf, 0); len > 0; len = input.next(buf, 0)) out.push(Buffer.from(buf.subarray(0, len)));
    expect(out).toHaveLength(60);
    expect(input.done).toBe(true);
    out.forEach((f, i) => expect(f.equals(Buffer.from(frames[i % 20]))).toBe(true));
  });

  test('PcapInput honours recorded timestamps across passes', () => {
    const { frames, times } = sample(10);
    const file = writeFile('timed.pcap', frames, times);
    const input = new PcapInput(file, { timing: 'recorded', loops: 2, startNs: 1000 });
    const buf = new Uint8Array(2048);
    const span = times[9] - times[0];
    const period = span + (frames[9].length + 24) * 0.8;
    for (let pass = 0; pass < 2; pass++) {
      for (let i = 0; i < 10; i++) {
        const due = 1000 + pass * period + (times[i] - times[0]);
        expect(input.next(buf, due - 1)).toBe(0);
        expect(input.next(buf, due)).toBe(frames[i].length);
        expect(Buffer.from(buf.subarray(0, frames[i].length)).equals(Buffer.from(frames[i]))).toBe(true);
      }
    }
    expect(input.next(buf, 1e15)).toBe(0);
    expect(input.sent).toBe(20);
  });
});
