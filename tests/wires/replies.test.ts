// The replies wire (src/sim/wires/replies.ts): a simulated peer answering what a port transmits. Checksums of the
// replies are recomputed from scratch (tests/nf/frames.ts), not with the wire's or the NF library's arithmetic.
import { TinyNfError } from '../../src/env/environment';
import { closeWire, createInput, createOutput, InputDescription, OutputDescription } from '../../src/sim/wires/describe';
import { REPLIES_COUNTER, REPLIES_COUNTERS, RepliesInput, RepliesOutput, RepliesWire } from '../../src/sim/wires/replies';
import { arpFrame, checksumOf, fixIpv4Checksum, icmpFrame, ipv4Frame, ipv4HeaderChecksumValid, l4ChecksumOf, tcpFrame, udpChecksummedFrame } from '../nf/frames';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const into = new Uint8Array(16 * 1024);

/** Transmit `frame` on the wire at `t` and take what comes back at `t` (null if nothing). */
function roundTrip(wire: RepliesWire, frame: Uint8Array, t = 1000): Uint8Array | null {
  wire.output.frame(frame, frame.length, t);
  const n = wire.input.next(into, t);
  return n === 0 ? null : into.slice(0, n);
}

/** What the reply to `f` must be, swapped here byte by byte (Ethernet, IPv4 addresses, and L4 ports unless ICMP). */
function swapped(f: Uint8Array): Uint8Array {
  const r = f.slice();
  r.set(f.subarray(6, 12), 0);
  r.set(f.subarray(0, 6), 6);
  r.set(f.subarray(30, 34), 26);
  r.set(f.subarray(26, 30), 30);
  const l4 = 14 + (f[14] & 0x0f) * 4;
  if (f[23] !== 1) {
    r.set(f.subarray(l4 + 2, l4 + 4), l4);
    r.set(f.subarray(l4, l4 + 2), l4 + 2);
  }
  return r;
}

describe('replies wire', () => {
  test('a UDP frame comes back with Ethernet, IPv4 and ports swapped; both checksums still valid', () => {
    const wire = RepliesWire.create();
    const f = udpChecksummedFrame({ src: '10.1.0.1', dst: '192.0.2.7', sport: 40001, dport: 53, payload: 37, seed: 3 });
    expect(l4ChecksumOf(f)).toBe(0);
    const r = roundTrip(wire, f)!;
    expect(hex(r)).toBe(hex(swapped(f)));
    expect(Array.from(r.subarray(26, 34))).toEqual([192, 0, 2, 7, 10, 1, 0, 1]);
    expect([(r[34] << 8) | r[35], (r[36] << 8) | r[37]]).toEqual([53, 40001]);
    expect(ipv4HeaderChecksumValid(r)).toBe(true);
    expect(l4ChecksumOf(r)).toBe(0);
    expect([wire.answered, wire.delivered, wire.unanswered, wire.overflowed]).toEqual([1, 1, 0, 0]);
  });

  test('TCP replies keep valid checksums, many addresses, ports and payloads; a UDP checksum of 0 stays 0', () => {
    const wire = RepliesWire.create();
    for (let seed = 0; seed < 200; seed++) {
      const a = `10.${seed & 0xff}.${(seed * 7) & 0xff}.${(seed * 13) & 0xff}`;
      const b = `198.51.${(seed * 3) & 0xff}.${255 - (seed & 0xff)}`;
      const t = tcpFrame({ src: a, dst: b, sport: 1024 + seed * 301, dport: (seed * 977) & 0xffff, payload: seed % 50, seed });
      const rt = roundTrip(wire, t)!;
      expect(hex(rt)).toBe(hex(swapped(t)));
      expect(ipv4HeaderChecksumValid(rt)).toBe(true);
      expect(l4ChecksumOf(rt)).toBe(0);
      const u = udpChecksummedFrame({ src: a, dst: b, sport: seed * 11, dport: 65535 - seed, payload: seed % 31, seed });
      const ru = roundTrip(wire, u)!;
      expect(ipv4HeaderChecksumValid(ru)).toBe(true);
      expect(l4ChecksumOf(ru)).toBe(0);
    }
    const none = udpChecksummedFrame({ src: '10.0.0.1', dst: '10.1.0.1', sport: 1, dport: 2, noChecksum: true });
    const r = roundTrip(wire, none)!;
    expect([r[40], r[41]]).toEqual([0, 0]);
    expect(ipv4HeaderChecksumValid(r)).toBe(true);
  });

  test('an ICMP echo request comes back as an echo reply, its checksum adjusted (valid when recomputed)', () => {
    const wire = RepliesWire.create();
    for (let seed = 0; seed < 300; seed++) {
      // identifiers and payloads spread over the checksum's range, including the end-around-carry cases
      const f = icmpFrame({ src: '10.1.0.1', dst: '203.0.113.9', id: (seed * 2654435761) & 0xffff, seq: seed, code: seed % 3 === 0 ? 0 : seed & 0xff, payload: seed % 40, seed });
      expect(checksumOf(f, 34, f.length)).toBe(0);
      const r = roundTrip(wire, f)!;
      expect(r[34]).toBe(0); // echo reply
      expect(r[35]).toBe(f[35]); // code unchanged
      expect(checksumOf(r, 34, r.length)).toBe(0);
      expect(ipv4HeaderChecksumValid(r)).toBe(true);
      expect(Array.from(r.subarray(26, 34))).toEqual(Array.from(f.subarray(30, 34)).concat(Array.from(f.subarray(26, 30))));
      expect(hex(r.subarray(38))).toBe(hex(f.subarray(38))); // identifier, sequence, payload as sent
    }
    expect(wire.answered).toBe(300);
  });

  test('frames that are not IPv4 TCP/UDP/ICMP echo requests get no reply and are counted', () => {
    const wire = RepliesWire.create();
    const ipv6 = udpChecksummedFrame({ src: '10.0.0.1', dst: '10.1.0.1', sport: 1, dport: 2 });
    ipv6[12] = 0x86;
    ipv6[13] = 0xdd;
    const fragment = fixIpv4Checksum(udpChecksummedFrame({ src: '10.0.0.1', dst: '10.1.0.1', sport: 1, dport: 2 }));
    fragment[20] = 0x20; // MF
    fixIpv4Checksum(fragment);
    const later = ipv4Frame({ src: '10.0.0.1', dst: '10.1.0.1', proto: 17, payload: new Uint8Array(30), flagsFragment: 185 });
    const badIhl = udpChecksummedFrame({ src: '10.0.0.1', dst: '10.1.0.1', sport: 1, dport: 2 });
    badIhl[14] = 0x44;
    const others = [
      arpFrame(),
      ipv6,
      fragment,
      later,
      badIhl,
      icmpFrame({ src: '10.0.0.1', dst: '10.1.0.1', type: 0 }), // an echo reply is not answered
      icmpFrame({ src: '10.0.0.1', dst: '10.1.0.1', type: 3, code: 1 }),
      ipv4Frame({ src: '10.0.0.1', dst: '10.1.0.1', proto: 47, payload: new Uint8Array(30) }), // GRE
      new Uint8Array(20),
    ];
    for (const f of others) expect(roundTrip(wire, f)).toBeNull();
    expect([wire.answered, wire.unanswered, wire.overflowed, wire.pending]).toEqual([0, others.length, 0, 0]);
  });

  test('a reply is due when its frame left (plus delayNs), in order', () => {
    const wire = RepliesWire.create({ delayNs: 500 });
    const a = udpChecksummedFrame({ src: '10.0.0.1', dst: '10.1.0.1', sport: 1, dport: 2 });
    const b = udpChecksummedFrame({ src: '10.0.0.1', dst: '10.1.0.1', sport: 3, dport: 4 });
    wire.output.frame(a, a.length, 1000);
    wire.output.frame(b, b.length, 1200);
    expect(wire.input.next(into, 1499)).toBe(0);
    expect(wire.input.next(into, 1500)).toBe(a.length);
    expect((into[36] << 8) | into[37]).toBe(1);
    expect(wire.input.next(into, 1699)).toBe(0);
    expect(wire.input.next(into, 1700)).toBe(b.length);
    expect((into[36] << 8) | into[37]).toBe(3);
    expect(wire.input.next(into, 1e9)).toBe(0);
  });

  test('a full queue: frames beyond `capacity` are counted as not answered; the queue takes more once drained', () => {
    const wire = RepliesWire.create({ capacity: 4 });
    const frames = Array.from({ length: 6 }, (_, k) => udpChecksummedFrame({ src: '10.0.0.1', dst: '10.1.0.1', sport: 100 + k, dport: 80 }));
    for (const f of frames) wire.output.frame(f, f.length, 0);
    expect([wire.answered, wire.overflowed, wire.pending]).toEqual([4, 2, 4]);
    const ports: number[] = [];
    while (wire.input.next(into, 0) !== 0) ports.push((into[36] << 8) | into[37]);
    expect(ports).toEqual([100, 101, 102, 103]);
    for (const f of frames) wire.output.frame(f, f.length, 0);
    expect([wire.answered, wire.overflowed, wire.delivered]).toEqual([8, 4, 4]);
  });

  test('the byte ring: big frames fill it, are counted when they do not fit, and wrap to the front intact', () => {
    const wire = RepliesWire.create({ capacity: 100, bufferBytes: 16 * 1024 });
    const big = (k: number): Uint8Array => udpChecksummedFrame({ src: '10.0.0.1', dst: '10.1.0.1', sport: 1000 + k, dport: 80, payload: 4958, seed: k }); // 5000 bytes
    for (let k = 0; k < 4; k++) wire.output.frame(big(k), 5000, 0);
    expect([wire.answered, wire.overflowed]).toEqual([3, 1]); // 3 x 5000 of 16384 bytes
    expect(wire.input.next(into, 0)).toBe(5000);
    expect(hex(into.subarray(0, 5000))).toBe(hex(swapped(big(0))));
    wire.output.frame(big(4), 5000, 0); // goes to the front, where big(0) was
    wire.output.frame(big(5), 5000, 0); // no room left
    expect([wire.answered, wire.overflowed]).toEqual([4, 2]);
    for (const k of [1, 2, 4]) {
      expect(wire.input.next(into, 0)).toBe(5000);
      expect(hex(into.subarray(0, 5000))).toBe(hex(swapped(big(k))));
      expect(l4ChecksumOf(into.subarray(0, 5000))).toBe(0);
    }
    expect(wire.input.next(into, 0)).toBe(0);
  });

  test('unaligned `into` and odd lengths are copied exactly; skip() drops a due reply unseen', () => {
    const wire = RepliesWire.create();
    const f = udpChecksummedFrame({ src: '10.0.0.1', dst: '10.1.0.1', sport: 5, dport: 6, payload: 25 }); // 67 bytes
    const odd = new Uint8Array(new ArrayBuffer(4096), 1, 4000);
    wire.output.frame(f, f.length, 0);
    expect(wire.input.next(odd, 0)).toBe(f.length);
    expect(hex(odd.subarray(0, f.length))).toBe(hex(swapped(f)));
    wire.output.frame(f, f.length, 10);
    expect(wire.input.skip(9)).toBe(0);
    expect(wire.input.skip(10)).toBe(f.length);
    expect([wire.pending, wire.delivered]).toEqual([0, 2]);
  });

  test('a frame in a longer view (a staging buffer) is copied by its length, aligned or not', () => {
    const wire = RepliesWire.create();
    const f = udpChecksummedFrame({ src: '10.0.0.1', dst: '10.1.0.1', sport: 9, dport: 10, payload: 41 }); // 83 bytes
    for (const offset of [0, 4, 1, 2, 3]) {
      const staging = new Uint8Array(new SharedArrayBuffer(4096), offset, 2048);
      staging.fill(0xee);
      staging.set(f);
      wire.output.frame(staging, f.length, 0);
      expect(wire.input.next(into, 0)).toBe(f.length);
      expect(hex(into.subarray(0, f.length))).toBe(hex(swapped(f)));
    }
    expect(wire.answered).toBe(5);
  });

  test('no allocation per frame in steady state (either copy path)', () => {
    const wire = RepliesWire.create();
    const f = udpChecksummedFrame({ src: '10.0.0.1', dst: '10.1.0.1', sport: 9, dport: 10 });
    const exact = new Uint8Array(new SharedArrayBuffer(1 << 16), 128, f.length);
    exact.set(f);
    const staging = new Uint8Array(new SharedArrayBuffer(1 << 16), 1024, 4096);
    staging.set(f);
    const chunk = 20_000;
    const deltas: number[] = [];
    for (let c = 0; c < 40; c++) {
      const before = process.memoryUsage().heapUsed;
      for (let i = 0; i < chunk; i++) {
        wire.output.frame((i & 1) === 0 ? exact : staging, f.length, i);
        wire.input.next(into, i);
      }
      if (c >= 10) deltas.push(process.memoryUsage().heapUsed - before); // after warm-up (tier-up)
    }
    deltas.sort((a, b) => a - b);
    // a garbage collection makes a chunk's delta negative; an allocation per frame (a view is ~100 bytes) would make
    // most of them megabytes
    expect(deltas[deltas.length >> 1]).toBeLessThan(chunk);
    expect(wire.delivered).toBe(40 * chunk);
  });

  test('counters given in the options are where it counts: shared across structuredClone, as a worker thread uses them', () => {
    const counters = new Float64Array(new SharedArrayBuffer(REPLIES_COUNTERS * 8));
    // the description crosses postMessage in the worker mode: its Float64Array stays over the same shared memory
    const desc: InputDescription = structuredClone({ kind: 'replies', name: 'counted', counters });
    const input = createInput(desc) as RepliesInput;
    const output = createOutput({ kind: 'replies', name: 'counted' }) as RepliesOutput;
    const f = udpChecksummedFrame({ src: '10.0.0.1', dst: '10.1.0.1', sport: 7, dport: 8 });
    output.frame(f, f.length, 0);
    output.frame(arpFrame(), 42, 0);
    expect(input.next(into, 0)).toBe(f.length);
    expect(Array.from(counters)).toEqual([1, 1, 1, 0]); // answered, delivered, unanswered, overflowed
    expect([REPLIES_COUNTER.answered, REPLIES_COUNTER.delivered, REPLIES_COUNTER.unanswered, REPLIES_COUNTER.overflowed]).toEqual([0, 1, 2, 3]);
    closeWire(input);
    closeWire(output);
    expect(() => RepliesWire.create({ counters: new Float64Array(3) })).toThrow(new TinyNfError("replies wire 'replies': counters must be a Float64Array of at least 4 entries"));
  });

  test('descriptions pair an input and an output by name (through structuredClone); closeWire releases', () => {
    const inDesc: InputDescription = structuredClone({ kind: 'replies', name: 'peer-a' });
    const outDesc: OutputDescription = structuredClone({ kind: 'replies', name: 'peer-a' });
    const input = createInput(inDesc) as RepliesInput;
    const output = createOutput(outDesc) as RepliesOutput;
    const other = createInput({ kind: 'replies', name: 'peer-b' });
    const f = udpChecksummedFrame({ src: '10.0.0.1', dst: '10.1.0.1', sport: 7, dport: 8 });
    output.frame(f, f.length, 0);
    expect(other.next(into, 0)).toBe(0);
    expect(input.next(into, 0)).toBe(f.length);
    // a reply left waiting: the wire lives while either half is open, and is gone with the last
    output.frame(f, f.length, 0);
    closeWire(output);
    const again = RepliesWire.acquire('peer-a');
    expect(again.pending).toBe(1);
    again.release();
    closeWire(input);
    closeWire(other);
    const fresh = RepliesWire.acquire('peer-a');
    expect(fresh.pending).toBe(0);
    fresh.close();
  });

  test('bad descriptions and options are one TinyNfError', () => {
    expect(() => createInput({ kind: 'replies', name: '' })).toThrow(TinyNfError);
    expect(() => createOutput({ kind: 'replies', name: 'x', capacity: 0 })).toThrow(/capacity must be a whole number/);
    expect(() => RepliesWire.create({ bufferBytes: 100 })).toThrow(/bufferBytes must be/);
    expect(() => RepliesWire.create({ delayNs: -1 })).toThrow(/delayNs must be/);
    expect(() => createInput({ kind: 'bogus' } as never)).toThrow("unknown wire input kind 'bogus': generator, pcap, tap, replies or none");
    expect(() => createOutput({ kind: 'bogus' } as never)).toThrow("unknown wire output kind 'bogus': count, pcap-out, tap, replies or none");
  });
});
