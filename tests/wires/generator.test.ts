import { TinyNfError } from '../../src/env/environment';
import { TrafficGenerator, readStamp, lineRateMpps, GeneratorOptions } from '../../src/sim/wires/generator';

// An independent RFC 1071 checksum: sum 16-bit big-endian words with end-around carry, complement.
function internetChecksum(bytes: number[]): number {
  let sum = 0;
  for (let i = 0; i < bytes.length; i += 2) {
    sum += (bytes[i] << 8) + (i + 1 < bytes.length ? bytes[i + 1] : 0);
    sum = (sum & 0xffff) + (sum >> 16);
  }
  return ~sum & 0xffff;
}

interface Parsed {
  ipOk: boolean;
  l4Ok: boolean;
  totalLength: number;
  protocol: number;
  src: number;
  dst: number;
  sport: number;
  dport: number;
}

function parse(frame: Uint8Array, length: number): Parsed {
  const f = Array.from(frame.subarray(0, length));
  expect(f[12]).toBe(0x08);
  expect(f[13]).toBe(0x00);
  const ip = f.slice(14, 34);
  const totalLength = (ip[2] << 8) | ip[3];
  const protocol = ip[9];
  const l4 = f.slice(34, 14 + totalLength);
  const pseudo = [...ip.slice(12, 20), 0, protocol, l4.length >> 8, l4.length & 0xff];
  return {
    ipOk: internetChecksum(ip) === 0,
    // A segment whose checksum field is correct sums (with the pseudo-header) to 0xffff, i.e. checksum 0.
    l4Ok: internetChecksum([...pseudo, ...l4]) === 0,
    totalLength,
    protocol,
    src: ((ip[12] << 24) | (ip[13] << 16) | (ip[14] << 8) | ip[15]) >>> 0,
    dst: ((ip[16] << 24) | (ip[17] << 16) | (ip[18] << 8) | ip[19]) >>> 0,
    sport: (l4[0] << 8) | l4[1],
    dport: (l4[2] << 8) | l4[3],
  };
}

function take(gen: TrafficGenerator, n: number, nowNs = 0): Uint8Array[] {
  const out: Uint8Array[] = [];
  const buf = new Uint8Array(9100).fill(0xee); // dirty buffer: the generator must overwrite what it returns
  for (let i = 0; i < n; i++) {
    const len = gen.next(buf, nowNs);
    if (len === 0) break;
    out.push(buf.slice(0, len));
  }
  return out;
}

describe('TrafficGenerator', () => {
  test('is deterministic for a seed and differs across seeds', () => {
    const opts: GeneratorOptions = { flows: 50, order: 'random', frameSize: 'imix', seed: 7, stamp: true };
    const hex = (frames: Uint8Array[]) => frames.map((f) => Buffer.from(f).toString('hex'));
    const a = hex(take(new TrafficGenerator(opts), 500));
    const b = hex(take(new TrafficGenerator(opts), 500));
    const c = hex(take(new TrafficGenerator({ ...opts, seed: 8 }), 500));
    expect(a).toHaveLength(500);
    expect(b).toEqual(a);
    expect(c).not.toEqual(a);
  });

  test('paces a fixed Mpps rate against the caller clock', () => {
    const gen = new TrafficGenerator({ rate: 1, startNs: 0 }); // one frame per 1000 ns
    const buf = new Uint8Array(2048);
    expect(gen.next(buf, 0)).toBe(60);
    expect(gen.next(buf, 0)).toBe(0);
    expect(gen.next(buf, 999)).toBe(0);
    expect(gen.nextDueNs).toBe(1000);
    expect(gen.next(buf, 1000)).toBe(60);
    // Frames 2..1000 are due by 1 ms: a late caller gets the backlog, then nothing more.
    let n = 0;
    while (gen.next(buf, 1_000_000) > 0) n++;
    expect(n).toBe(999);
    expect(gen.sent).toBe(1001);
  });

  test('line rate is 14.88 Mpps for 60-byte frames and follows each frame size', () => {
    expect(lineRateMpps(60)).toBeCloseTo(14.88, 2);
    const gen = new TrafficGenerator({ rate: 'line-rate', startNs: 0 });
    const buf = new Uint8Array(2048);
    let n = 0;
    while (gen.next(buf, 1_000_000) > 0) n++;
    // Frame i is due at i * 67.2 ns (84 bytes of preamble+frame+FCS+gap at 10 bits/ns).
    expect(n).toBe(Math.floor(1_000_000 / 67.2) + 1);

    const mixed = new TrafficGenerator({ rate: 'line-rate', startNs: 500, frameSize: [60, 1514], seed: 3 });
    let bits = 0;
    for (let i = 0; i < 200; i++) {
      const expectedDue = 500 + bits / 10;
      expect(mixed.nextDueNs).toBeCloseTo(expectedDue, 6);
      expect(mixed.next(buf, expectedDue - 0.01)).toBe(0);
      const len = mixed.next(buf, expectedDue);
      expect([60, 1514]).toContain(len);
      bits += (len + 24) * 8;
    }
  });

  test('unlimited rate gives a frame per call, and the count limit stops it', () => {
    const gen = new TrafficGenerator({ count: 5 });
    expect(take(gen, 100)).toHaveLength(5);
    expect(gen.done).toBe(true);
    expect(gen.next(new Uint8Array(100), 1e12)).toBe(0);
    expect(take(new TrafficGenerator(), 1000)).toHaveLength(1000);
  });

  test('flows are distinct 5-tuples at base + k in the varied fields', () => {
    const gen = new TrafficGenerator({
      flows: 256,
      vary: ['srcIp', 'dstPort'],
      srcIp: '10.0.0.250',
      dstIp: '10.1.0.1',
      srcPort: 5000,
      dstPort: 6000,
    });
    const frames = take(gen, 512);
    const tuples = new Set<string>();
    frames.slice(0, 256).forEach((f, k) => {
      const p = parse(f, f.length);
      expect(p.src).toBe(0x0a0000fa + k); // crosses 10.0.0.255 -> 10.0.1.x
      expect(p.dst).toBe(0x0a010001);
      expect(p.sport).toBe(5000);
      expect(p.dport).toBe(6000 + k);
      tuples.add(`${p.src}/${p.dst}/${p.sport}/${p.dport}/${p.protocol}`);
    });
    expect(tuples.size).toBe(256);
    // Round robin: the second round repeats the first.
    expect(Buffer.concat(frames.slice(256)).equals(Buffer.concat(frames.slice(0, 256)))).toBe(true);

    const random = take(new TrafficGenerator({ flows: 16, order: 'random', vary: 'srcPort' }), 1000);
    const ports = new Set(random.map((f) => parse(f, f.length).sport));
    expect(ports.size).toBe(16);
  });

  test('source MACs can vary per flow', () => {
    const frames = take(new TrafficGenerator({ flows: 3, vary: 'srcMac', srcMac: '02:00:00:00:00:fe' }), 3);
    expect(frames.map((f) => Array.from(f.subarray(6, 12)))).toEqual([
      [2, 0, 0, 0, 0, 0xfe],
      [2, 0, 0, 0, 0, 0xff],
      [2, 0, 0, 0, 1, 0x00],
    ]);
  });

  test.each([
    ['udp', false, 1],
    ['udp', true, 1],
    ['tcp', false, 1],
    ['tcp', true, 1],
    ['tcp', true, 50000],
    // 50000 flows x IMIX exceeds the template budget: one header per flow, lengths and checksums per frame.
    ['udp', true, 50000],
    ['tcp', false, 50000],
  ] as const)('IPv4 and %s checksums are valid (stamp %s, %d flows)', (protocol, stamp, flows) => {
    // IMIX, except that a stamped TCP frame needs 70 bytes.
    const smallest = protocol === 'tcp' && stamp ? 70 : 60;
    const frameSize = [
      { size: smallest, weight: 7 },
      { size: 590, weight: 4 },
      { size: 1514, weight: 1 },
    ];
    const gen = new TrafficGenerator({ protocol, stamp, flows, frameSize, order: 'random', seed: 11 });
    const frames = take(gen, 300);
    const sizes = new Set<number>();
    for (const f of frames) {
      const p = parse(f, f.length);
      expect(p.protocol).toBe(protocol === 'udp' ? 17 : 6);
      expect(p.totalLength).toBe(f.length - 14);
      expect(p.ipOk).toBe(true);
      expect(p.l4Ok).toBe(true);
      if (protocol === 'udp') expect((f[38] << 8) | f[39]).toBe(f.length - 34);
      sizes.add(f.length);
    }
    expect([...sizes].sort((a, b) => a - b)).toEqual([smallest, 590, 1514]);
  });

  test('sizes: fixed, weighted mix in proportion, out of range rejected', () => {
    expect(take(new TrafficGenerator(), 10).every((f) => f.length === 60)).toBe(true);
    expect(take(new TrafficGenerator({ frameSize: 1514 }), 3).map((f) => f.length)).toEqual([1514, 1514, 1514]);
    const frames = take(new TrafficGenerator({ frameSize: [{ size: 100, weight: 3 }, { size: 200, weight: 1 }] }), 8000);
    const small = frames.filter((f) => f.length === 100).length;
    expect(frames.filter((f) => f.length === 200).length).toBe(8000 - small);
    expect(small / 8000).toBeGreaterThan(0.72);
    expect(small / 8000).toBeLessThan(0.78);
    expect(() => new TrafficGenerator({ frameSize: 59 })).toThrow(TinyNfError);
    expect(() => new TrafficGenerator({ frameSize: 9015 })).toThrow(/out of range/);
    expect(() => new TrafficGenerator({ protocol: 'tcp', stamp: true, frameSize: 60 })).toThrow(/at least 70/);
    expect(() => new TrafficGenerator({ flows: 70000, vary: 'srcPort' })).toThrow(/overflow srcPort/);
    expect(() => new TrafficGenerator({ rate: -1 })).toThrow(TinyNfError);
  });

  test('stamps carry the sequence number and the due time', () => {
    const gen = new TrafficGenerator({ stamp: true, rate: 2, startNs: 100 }); // 500 ns apart
    const buf = new Uint8Array(2048);
    const stamps: { seq: number; timeNs: number }[] = [];
    while (gen.next(buf, 10_000) > 0) stamps.push(readStamp(buf, 60)!);
    expect(stamps).toHaveLength(20);
    stamps.forEach((s, i) => {
      expect(s.seq).toBe(i);
      expect(s.timeNs).toBe(100 + 500 * i);
    });
    const unlimited = new TrafficGenerator({ stamp: true, protocol: 'tcp', frameSize: 70 });
    expect(unlimited.next(buf, 123456.5)).toBe(70);
    expect(readStamp(buf, 70)).toEqual({ seq: 0, timeNs: 123456.5 });
  });
});
