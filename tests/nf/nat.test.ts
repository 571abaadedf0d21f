// The NAT through the real driver on the in-memory 82599, for both driver models. Translated frames are compared
// byte for byte with frames built here from scratch with the expected addresses and ports (tests/nf/frames.ts
// computes every checksum itself), so a wrong incremental checksum update cannot hide.
import fc from 'fast-check';
import { TinyNfError } from '../../src/env/environment';
import { nfDefinition } from '../../src/nf';
import { checksumReplace16, checksumReplace32, checksumReplaceAddressPort, udpChecksumField } from '../../src/nf/lib/checksum';
import { keyedHash } from '../../src/nf/lib/flow-table';
import type { NetworkFunction } from '../../src/nf/network-function';
import { Testbed } from '../../src/app/testbed';
import { arpFrame, checksumOf, fixIpv4Checksum, icmpFrame, ipv4, ipv4Frame, l4ChecksumOf, tcpFrame, udpChecksummedFrame, udpFrame } from './frames';

const LAN = 0;
const WAN = 1;
const EXT = '10.1.0.1';
const HOST = '10.0.0.2';
const SERVER = '10.1.0.2';

function setUp(model: 'restricted' | 'flexible', config: Record<string, unknown> = {}): { tb: Testbed; nf: NetworkFunction } {
  const tb = Testbed.create({ ports: 2, model });
  const def = nfDefinition('nat');
  const nf = def.create(def.parseConfig(config), { clock: tb.env, ports: 2 });
  tb.attach(nf);
  return { tb, nf };
}

const u16 = (f: Uint8Array, at: number): number => (f[at] << 8) | f[at + 1];
const u32 = (f: Uint8Array, at: number): number => ((f[at] << 24) | (f[at + 1] << 16) | (f[at + 2] << 8) | f[at + 3]) >>> 0;
const arr = (f: Uint8Array): number[] => Array.from(f);
/** A frame as it leaves the NIC: padded to 60 bytes. */
const wire = (f: Uint8Array): number[] => arr(padded(f));
/** A frame as a transmitter puts it on the wire: padded with zeros to the 60-byte minimum. */
function padded(f: Uint8Array): Uint8Array {
  if (f.length >= 60) return f;
  const out = new Uint8Array(60);
  out.set(f);
  return out;
}

/** Independent checks of a frame's IPv4 header checksum: recomputed over a copy with the field zeroed. */
function expectIpChecksumRight(f: Uint8Array): void {
  const header = f.slice(14, 34);
  header[10] = 0;
  header[11] = 0;
  expect(u16(f, 24)).toBe(checksumOf(header, 0, 20));
  expect(checksumOf(f, 14, 34)).toBe(0);
}

describe.each(['restricted', 'flexible'] as const)('nat (%s model)', (model) => {
  it('translates LAN TCP, UDP and ICMP echo to the external address and allocated ports, and the replies back', () => {
    const { tb, nf } = setUp(model, { startPort: 5000, endPort: 5999 });
    const out = [
      tcpFrame({ src: HOST, dst: SERVER, sport: 40000, dport: 80, seed: 1 }),
      udpChecksummedFrame({ src: HOST, dst: SERVER, sport: 5353, dport: 53, seed: 2 }),
      udpChecksummedFrame({ src: HOST, dst: SERVER, sport: 6000, dport: 9, seed: 3, noChecksum: true }),
      icmpFrame({ src: HOST, dst: SERVER, id: 0x1234, seq: 1, seed: 4 }),
      tcpFrame({ src: '10.0.0.3', dst: SERVER, sport: 40000, dport: 80, seed: 5 }), // same port, other host
      tcpFrame({ src: HOST, dst: '10.1.0.3', sport: 40000, dport: 80, seed: 6 }), // same source, other server
    ];
    for (const f of out) tb.send(LAN, f);
    tb.run();
    const sent = tb.received(WAN);
    expect(sent.length).toBe(out.length);
    const ports: number[] = [];
    sent.forEach((f, i) => {
      expectIpChecksumRight(f);
      expect(u32(f, 26)).toBe(ipv4(EXT));
      expect(u32(f, 30)).toBe(u32(out[i], 30)); // destination untouched
      const port = u16(f, out[i][23] === 1 ? 38 : 34);
      expect(port).toBeGreaterThanOrEqual(5000);
      expect(port).toBeLessThanOrEqual(5999);
      ports.push(port);
    });
    expect(new Set(ports).size).toBe(out.length); // one external port per mapping
    // byte for byte what a host at the external address would have sent (checksums recomputed from scratch)
    expect(arr(sent[0])).toEqual(arr(tcpFrame({ src: EXT, dst: SERVER, sport: ports[0], dport: 80, seed: 1 })));
    expect(arr(sent[1])).toEqual(arr(udpChecksummedFrame({ src: EXT, dst: SERVER, sport: ports[1], dport: 53, seed: 2 })));
    expect(arr(sent[2])).toEqual(arr(udpChecksummedFrame({ src: EXT, dst: SERVER, sport: ports[2], dport: 9, seed: 3, noChecksum: true })));
    expect(u16(sent[2], 40)).toBe(0); // no UDP checksum stays none
    expect(arr(sent[3])).toEqual(arr(icmpFrame({ src: EXT, dst: SERVER, id: ports[3], seq: 1, seed: 4 })));
    expect(arr(sent[4])).toEqual(arr(tcpFrame({ src: EXT, dst: SERVER, sport: ports[4], dport: 80, seed: 5 })));
    for (const i of [0, 1, 4, 5]) expect(l4ChecksumOf(sent[i])).toBe(0);
    expect(checksumOf(sent[3], 34, 60)).toBe(0); // ICMP checksum over the message

    // replies from the WAN come back to the right host and port
    tb.send(WAN, tcpFrame({ src: SERVER, dst: EXT, sport: 80, dport: ports[0], seed: 11, flags: 0x12 }));
    tb.send(WAN, udpChecksummedFrame({ src: SERVER, dst: EXT, sport: 53, dport: ports[1], seed: 12 }));
    tb.send(WAN, udpChecksummedFrame({ src: SERVER, dst: EXT, sport: 9, dport: ports[2], seed: 13, noChecksum: true }));
    tb.send(WAN, icmpFrame({ src: SERVER, dst: EXT, type: 0, id: ports[3], seq: 1, seed: 14 }));
    tb.send(WAN, tcpFrame({ src: SERVER, dst: EXT, sport: 80, dport: ports[4], seed: 15 }));
    tb.send(WAN, tcpFrame({ src: '10.1.0.3', dst: EXT, sport: 80, dport: ports[5], seed: 16 }));
    tb.run();
    const back = tb.received(LAN);
    expect(back.map(arr)).toEqual([
      arr(tcpFrame({ src: SERVER, dst: HOST, sport: 80, dport: 40000, seed: 11, flags: 0x12 })),
      arr(udpChecksummedFrame({ src: SERVER, dst: HOST, sport: 53, dport: 5353, seed: 12 })),
      arr(udpChecksummedFrame({ src: SERVER, dst: HOST, sport: 9, dport: 6000, seed: 13, noChecksum: true })),
      arr(icmpFrame({ src: SERVER, dst: HOST, type: 0, id: 0x1234, seq: 1, seed: 14 })),
      arr(tcpFrame({ src: SERVER, dst: '10.0.0.3', sport: 80, dport: 40000, seed: 15 })),
      arr(tcpFrame({ src: '10.1.0.3', dst: HOST, sport: 80, dport: 40000, seed: 16 })),
    ]);
    for (const f of back) expectIpChecksumRight(f);

    // the same LAN flow again keeps its port; Ethernet addresses pass unchanged
    const again = tcpFrame({ src: HOST, dst: SERVER, sport: 40000, dport: 80, seed: 7 });
    again.set([0x02, 0x74, 0x6e, 0x66, 0, 2, 0x02, 0x74, 0x6e, 0x66, 0, 1], 0);
    tb.send(LAN, again);
    tb.run();
    const [o] = tb.received(WAN);
    expect(u16(o, 34)).toBe(ports[0]);
    expect(arr(o.subarray(0, 12))).toEqual([0x02, 0x74, 0x6e, 0x66, 0, 2, 0x02, 0x74, 0x6e, 0x66, 0, 1]);
    expect(nf.counters()).toMatchObject({ translated_out: 7, translated_in: 6, mappings: 6, no_mapping: 0 });
    expect(tb.stats().forwarders[WAN]!.droppedPackets).toBe(0);
    expect(tb.violations).toEqual([]);
  });

  it('lets nothing in from the WAN but replies of a known mapping: the full 5-tuple must match', () => {
    const { tb, nf } = setUp(model, { startPort: 2000, endPort: 2999 });
    tb.send(LAN, udpChecksummedFrame({ src: HOST, dst: SERVER, sport: 1111, dport: 53 }));
    tb.send(LAN, icmpFrame({ src: HOST, dst: SERVER, id: 77 }));
    tb.run();
    const [udpOut, icmpOut] = tb.received(WAN);
    const port = u16(udpOut, 34);
    const id = u16(icmpOut, 38);
    const probes: [Uint8Array, string][] = [
      [udpChecksummedFrame({ src: SERVER, dst: EXT, sport: 53, dport: port === 2999 ? 2000 : port + 1 }), 'no_mapping'], // unallocated port
      [udpChecksummedFrame({ src: SERVER, dst: EXT, sport: 53, dport: 1999 }), 'no_mapping'], // outside the range
      [udpChecksummedFrame({ src: SERVER, dst: EXT, sport: 54, dport: port }), 'no_mapping'], // other remote port
      [udpChecksummedFrame({ src: '10.1.0.9', dst: EXT, sport: 53, dport: port }), 'no_mapping'], // other remote address
      [tcpFrame({ src: SERVER, dst: EXT, sport: 53, dport: port }), 'no_mapping'], // other protocol
      [icmpFrame({ src: SERVER, dst: EXT, type: 0, id: port }), 'no_mapping'], // echo reply with the UDP port as id
      [icmpFrame({ src: '10.1.0.9', dst: EXT, type: 0, id }), 'no_mapping'], // echo reply from another host
      [icmpFrame({ src: SERVER, dst: EXT, type: 8, id }), 'unsupported'], // echo request from WAN
      [udpChecksummedFrame({ src: SERVER, dst: HOST, sport: 53, dport: 1111 }), 'wrong_destination'], // straight to the host
      [udpChecksummedFrame({ src: SERVER, dst: '10.1.0.5', sport: 53, dport: port }), 'wrong_destination'],
    ];
    for (const [f] of probes) tb.send(WAN, f);
    tb.run();
    expect(tb.received(LAN)).toEqual([]);
    const counts: Record<string, number> = {};
    for (const [, k] of probes) counts[k] = (counts[k] ?? 0) + 1;
    expect(nf.counters()).toMatchObject({ ...counts, translated_in: 0 });
    expect(tb.stats().forwarders[WAN]!.droppedPackets).toBe(probes.length);
    // the right reply still passes
    tb.send(WAN, udpChecksummedFrame({ src: SERVER, dst: EXT, sport: 53, dport: port }));
    tb.send(WAN, icmpFrame({ src: SERVER, dst: EXT, type: 0, id }));
    tb.run();
    expect(tb.received(LAN).length).toBe(2);
    expect(tb.violations).toEqual([]);
  });

  it('expires idle mappings (replies dropped, ports reused), while traffic either way keeps a mapping', () => {
    const { tb, nf } = setUp(model, { startPort: 7000, endPort: 7001, expiryNs: 1_000_000_000 });
    const a = udpChecksummedFrame({ src: HOST, dst: SERVER, sport: 1001, dport: 53 });
    const b = udpChecksummedFrame({ src: HOST, dst: SERVER, sport: 1002, dport: 53 });
    const c = udpChecksummedFrame({ src: '10.0.0.3', dst: '10.1.0.3', sport: 1003, dport: 53 });
    tb.send(LAN, a);
    tb.send(LAN, b);
    tb.send(LAN, c); // two ports only: exhausted
    tb.run();
    const first = tb.received(WAN);
    expect(first.map((f) => u16(f, 34)).sort()).toEqual([7000, 7001]);
    const portA = u16(first[0], 34);
    const portB = u16(first[1], 34);
    expect(nf.counters()).toMatchObject({ translated_out: 2, port_exhausted: 1, mappings: 2 });

    tb.advanceTimeNs(600_000_000);
    tb.send(WAN, udpChecksummedFrame({ src: SERVER, dst: EXT, sport: 53, dport: portA })); // a reply keeps A
    tb.run();
    expect(tb.received(LAN).length).toBe(1);
    tb.advanceTimeNs(600_000_000); // B idle 1.2 s: expired; A idle 0.6 s
    tb.send(WAN, udpChecksummedFrame({ src: SERVER, dst: EXT, sport: 53, dport: portB }));
    tb.send(WAN, udpChecksummedFrame({ src: SERVER, dst: EXT, sport: 53, dport: portA }));
    tb.run();
    const replies = tb.received(LAN);
    expect(replies.length).toBe(1);
    expect(u16(replies[0], 36)).toBe(1001);
    expect(nf.counters().no_mapping).toBe(1);

    // C now gets B's port; replies to that port from B's remote endpoint no longer pass
    tb.send(LAN, c);
    tb.run();
    const [cOut] = tb.received(WAN);
    expect(u16(cOut, 34)).toBe(portB);
    expect(arr(cOut)).toEqual(arr(udpChecksummedFrame({ src: EXT, dst: '10.1.0.3', sport: portB, dport: 53 })));
    tb.send(WAN, udpChecksummedFrame({ src: SERVER, dst: EXT, sport: 53, dport: portB }));
    tb.send(WAN, udpChecksummedFrame({ src: '10.1.0.3', dst: EXT, sport: 53, dport: portB }));
    tb.run();
    const toC = tb.received(LAN);
    expect(toC.map(arr)).toEqual([arr(udpChecksummedFrame({ src: '10.1.0.3', dst: '10.0.0.3', sport: 53, dport: 1003 }))]);
    // B comes back: no port is free until A expires too
    tb.send(LAN, b);
    tb.run();
    expect(tb.received(WAN)).toEqual([]);
    expect(nf.counters()).toMatchObject({ port_exhausted: 2, no_mapping: 2 });
    tb.advanceTimeNs(1_100_000_000); // A and C idle > 1 s
    tb.send(LAN, b);
    tb.run();
    expect(tb.received(WAN).length).toBe(1);
    expect(tb.violations).toEqual([]);
  });

  it('drops new LAN flows when the table is full (counted) while existing mappings keep working', () => {
    const { tb, nf } = setUp(model, { capacity: 4, expiryNs: 1_000_000_000 });
    for (let h = 1; h <= 6; h++) tb.send(LAN, tcpFrame({ src: `10.0.0.${h}`, dst: SERVER, sport: 3000, dport: 443 }));
    tb.run();
    const out = tb.received(WAN);
    expect(out.length).toBe(4);
    expect(nf.counters()).toMatchObject({ translated_out: 4, table_full: 2, port_exhausted: 0, mappings: 4 });
    expect(tb.stats().forwarders[LAN]!.droppedPackets).toBe(2);
    tb.send(LAN, tcpFrame({ src: '10.0.0.1', dst: SERVER, sport: 3000, dport: 443 }));
    tb.send(WAN, tcpFrame({ src: SERVER, dst: EXT, sport: 443, dport: u16(out[0], 34) }));
    tb.run();
    expect(tb.received(WAN).length).toBe(1);
    expect(tb.received(LAN).length).toBe(1);
    // after the expiry, the table has room again
    tb.advanceTimeNs(2_000_000_000);
    for (let h = 11; h <= 14; h++) tb.send(LAN, tcpFrame({ src: `10.0.0.${h}`, dst: SERVER, sport: 3000, dport: 443 }));
    tb.run();
    expect(tb.received(WAN).length).toBe(4);
    expect(nf.counters().table_full).toBe(2);
    expect(tb.violations).toEqual([]);
  });

  it('drops malformed, fragmented, non-IPv4 and unsupported input both ways, each counted once', () => {
    const { tb, nf } = setUp(model);
    const sent: [number, Uint8Array, string][] = [];
    const both = (f: () => Uint8Array, counter: string) => {
      sent.push([LAN, f(), counter]);
      sent.push([WAN, f(), counter]);
    };
    both(arpFrame, 'non_ipv4');
    both(() => {
      const f = udpFrame({ dst: EXT });
      f[12] = 0x86;
      f[13] = 0xdd;
      return f;
    }, 'non_ipv4');
    both(() => {
      const f = udpChecksummedFrame({ src: HOST, dst: EXT, sport: 1, dport: 2 });
      f[14] = 0x44; // IHL 4
      return fixIpv4Checksum(f);
    }, 'malformed');
    both(() => {
      const f = udpChecksummedFrame({ src: HOST, dst: EXT, sport: 1, dport: 2 });
      f[14] = 0x65; // version 6
      return fixIpv4Checksum(f);
    }, 'malformed');
    both(() => {
      const f = udpChecksummedFrame({ src: HOST, dst: EXT, sport: 1, dport: 2 });
      new DataView(f.buffer).setUint16(16, 1400); // total length beyond the frame
      return fixIpv4Checksum(f);
    }, 'malformed');
    both(() => {
      const f = udpChecksummedFrame({ src: HOST, dst: EXT, sport: 1, dport: 2 });
      new DataView(f.buffer).setUint16(16, 19); // total length below the header
      return fixIpv4Checksum(f);
    }, 'malformed');
    both(() => {
      const f = tcpFrame({ src: HOST, dst: EXT, sport: 1, dport: 2 });
      new DataView(f.buffer).setUint16(16, 20 + 19); // TCP header cut at 19 bytes
      return fixIpv4Checksum(f);
    }, 'malformed');
    both(() => ipv4Frame({ src: HOST, dst: EXT, proto: 17, payload: new Uint8Array(7) }), 'malformed'); // UDP header 7 bytes (frame padded)
    both(() => ipv4Frame({ src: HOST, dst: EXT, proto: 1, payload: new Uint8Array(4) }), 'malformed'); // ICMP cut short
    both(() => {
      const f = udpChecksummedFrame({ src: HOST, dst: EXT, sport: 1, dport: 2 });
      f[22] = 1; // TTL changed without fixing the header checksum
      return f;
    }, 'bad_checksum');
    both(() => ipv4Frame({ src: HOST, dst: EXT, proto: 17, payload: new Uint8Array(40), flagsFragment: 0x2000 }), 'fragment'); // MF, offset 0
    both(() => ipv4Frame({ src: HOST, dst: EXT, proto: 17, payload: new Uint8Array(40), flagsFragment: 0x0005 }), 'fragment'); // offset 40
    both(() => ipv4Frame({ src: HOST, dst: EXT, proto: 47, payload: new Uint8Array(40) }), 'unsupported'); // GRE
    both(() => icmpFrame({ src: HOST, dst: EXT, type: 3, code: 3 }), 'unsupported'); // destination unreachable
    const cut = udpFrame({ dst: EXT }).slice(0, 16); // Ethernet header and 2 bytes of IPv4, padded by the sender
    sent.push([LAN, padded(cut), 'malformed']);
    for (const [port, f] of sent) tb.send(port, padded(f));
    tb.run();
    expect(tb.received(LAN)).toEqual([]);
    expect(tb.received(WAN)).toEqual([]);
    const expected: Record<string, number> = {};
    for (const [, , k] of sent) expected[k] = (expected[k] ?? 0) + 1;
    const counters = nf.counters();
    for (const [k, v] of Object.entries(expected)) expect([k, counters[k]]).toEqual([k, v]);
    expect(counters.translated_out + counters.translated_in + counters.mappings).toBe(0);
    const stats = tb.stats();
    expect(stats.forwarders[LAN]!.droppedPackets + stats.forwarders[WAN]!.droppedPackets).toBe(sent.length);
    expect(tb.violations).toEqual([]);
  });

  it('translates frames with IPv4 options and Ethernet padding, leaving options and padding as they were', () => {
    const { tb } = setUp(model, { startPort: 9000, endPort: 9000 });
    // a UDP frame with 4 bytes of IPv4 options (NOP NOP NOP EOL) and 10 bytes of Ethernet padding after it
    const base = udpChecksummedFrame({ src: HOST, dst: SERVER, sport: 4444, dport: 53, payload: 4 });
    const f = new Uint8Array(base.length + 4 + 10);
    f.set(base.subarray(0, 34), 0);
    f.set([1, 1, 1, 0], 34);
    f.set(base.subarray(34), 38);
    f.fill(0xee, base.length + 4);
    f[14] = 0x46;
    new DataView(f.buffer).setUint16(16, base.length - 14 + 4);
    fixIpv4Checksum(f);
    const udpAt = 38;
    expect(l4ChecksumOf(f)).toBe(0);
    tb.send(LAN, f);
    tb.run();
    const [o] = tb.received(WAN);
    expect(o.length).toBe(f.length);
    expect(checksumOf(o, 14, 38)).toBe(0);
    expect(l4ChecksumOf(o)).toBe(0);
    expect(u32(o, 26)).toBe(ipv4(EXT));
    expect(u16(o, udpAt)).toBe(9000);
    expect(arr(o.subarray(34, 38))).toEqual([1, 1, 1, 0]);
    expect(arr(o.subarray(base.length + 4))).toEqual(new Array(10).fill(0xee));
    expect(tb.violations).toEqual([]);
  });
});

describe('nat checksums (RFC 1624) on random headers', () => {
  it('incremental updates equal checksums recomputed from scratch, through the driver', () => {
    const { tb, nf } = setUp('restricted', { startPort: 1024, endPort: 65535 });
    let n = 0;
    fc.assert(
      fc.property(
        fc.record({
          src: fc.integer({ min: 0, max: 0xffffffff }),
          dst: fc.integer({ min: 0, max: 0xffffffff }),
          sport: fc.integer({ min: 0, max: 65535 }),
          dport: fc.integer({ min: 0, max: 65535 }),
          kind: fc.integer({ min: 0, max: 3 }),
          payload: fc.integer({ min: 0, max: 200 }),
          seed: fc.integer({ min: 0, max: 1000 }),
        }),
        (r) => {
          const ip = (v: number) => [v >>> 24, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff].join('.');
          const src = ip(r.src);
          const dst = ip(r.dst);
          const make = (s: string, sport: number): Uint8Array =>
            r.kind === 0
              ? tcpFrame({ src: s, dst, sport, dport: r.dport, payload: r.payload, seed: r.seed })
              : r.kind === 1
                ? udpChecksummedFrame({ src: s, dst, sport, dport: r.dport, payload: r.payload, seed: r.seed })
                : r.kind === 2
                  ? udpChecksummedFrame({ src: s, dst, sport, dport: r.dport, payload: r.payload, seed: r.seed, noChecksum: true })
                  : icmpFrame({ src: s, dst, id: sport, payload: r.payload, seed: r.seed });
          tb.send(LAN, padded(make(src, r.sport)));
          tb.run();
          const [o] = tb.received(WAN);
          n++;
          const port = u16(o, r.kind === 3 ? 38 : 34);
          expect(wire(o)).toEqual(wire(make(EXT, port)));
          // and back: the reply to the external port reaches the host with the host's port
          const reply = (to: string, p: number): Uint8Array =>
            r.kind === 3
              ? icmpFrame({ src: dst, dst: to, type: 0, id: p, payload: r.payload, seed: r.seed + 1 })
              : r.kind === 0
                ? tcpFrame({ src: dst, dst: to, sport: r.dport, dport: p, payload: r.payload, seed: r.seed + 1 })
                : udpChecksummedFrame({ src: dst, dst: to, sport: r.dport, dport: p, payload: r.payload, seed: r.seed + 1, noChecksum: r.kind === 2 });
          tb.send(WAN, padded(reply(EXT, port)));
          tb.run();
          const [back] = tb.received(LAN);
          expect(wire(back)).toEqual(wire(reply(src, r.sport)));
        },
      ),
      { numRuns: 150, seed: 0x1624 },
    );
    expect(nf.counters()).toMatchObject({ translated_out: n, translated_in: n });
    expect(tb.violations).toEqual([]);
  });

  it('the helpers follow RFC 1624 eqn. 3, including the +0/-0 corner cases', () => {
    // RFC 1624 section 4's example: a header summing to 0xcd7a (checksum 0x3285); a word 0x5555 becomes 0x3285
    expect(checksumReplace16(0xdd2f, 0x5555, 0x3285)).toBe(0x0000);
    // from scratch vs incremental on random 10-word headers
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 10, maxLength: 10 }), fc.integer({ min: 0, max: 9 }), fc.integer({ min: 0, max: 0xffff }), (words, i, w) => {
        const sum = (ws: number[]) => {
          let s = 0;
          for (const x of ws) s += x;
          while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
          return ~s & 0xffff;
        };
        const before = sum(words);
        const after = words.slice();
        after[i] = w;
        const incremental = checksumReplace16(before, words[i], w);
        // equal, or the other representation of zero only when the data sum to zero (all words 0)
        if (incremental !== sum(after)) expect([incremental, sum(after)].sort()).toEqual([0, 0xffff]);
      }),
      { numRuns: 500, seed: 3 },
    );
    expect(checksumReplace32(0x1234, 0x0a000002, 0x0a000002)).toBe(0x1234);
    expect(checksumReplaceAddressPort(0xabcd, 0x0a000002, 80, 0x0a000002, 80)).toBe(0xabcd);
    expect(udpChecksumField(0)).toBe(0xffff);
    expect(udpChecksumField(0x1234)).toBe(0x1234);
  });
});

describe('nat under adversarial traffic', () => {
  it('a WAN flood of guessed ports and spoofed sources creates no state and does not disturb a mapping', () => {
    const { tb, nf } = setUp('restricted', { startPort: 20000, endPort: 20063 });
    tb.send(LAN, tcpFrame({ src: HOST, dst: SERVER, sport: 5555, dport: 443 }));
    tb.run();
    const port = u16(tb.received(WAN)[0], 34);
    // every allocatable port, from every source port the attacker can try on a few addresses, except the real one
    let flood = 0;
    for (let p = 20000; p <= 20063; p++) {
      for (const s of ['10.1.0.66', '10.1.0.67']) {
        tb.send(WAN, tcpFrame({ src: s, dst: EXT, sport: 443, dport: p }));
        flood++;
      }
      tb.send(WAN, tcpFrame({ src: SERVER, dst: EXT, sport: 444, dport: p }));
      flood++;
    }
    tb.run();
    expect(tb.received(LAN)).toEqual([]);
    expect(nf.counters()).toMatchObject({ no_mapping: flood, mappings: 1 });
    tb.send(WAN, tcpFrame({ src: SERVER, dst: EXT, sport: 443, dport: port }));
    tb.run();
    expect(tb.received(LAN).length).toBe(1);
    expect(tb.violations).toEqual([]);
  });

  it('LAN flows crafted to collide under an unkeyed hash are all translated (keyed table)', () => {
    const capacity = 1024;
    const { tb, nf } = setUp('restricted', { capacity, startPort: 10000, endPort: 10000 + capacity - 1 });
    // slots = 2048 for capacity 1024; an attacker who assumed a known (zero) key would pick sources colliding there
    const unkeyed = new Uint32Array(4);
    const mask = 2047;
    const dst = ipv4(SERVER);
    const ports = ((7000 << 16) | 80) >>> 0;
    const sources: number[] = [];
    for (let s = 0x0a000000; sources.length < 300; s++) {
      if ((keyedHash(s, dst, ports, 17, unkeyed) & mask) === 0) sources.push(s);
    }
    for (const s of sources) {
      const src = [s >>> 24, (s >>> 16) & 0xff, (s >>> 8) & 0xff, s & 0xff].join('.');
      tb.send(LAN, udpChecksummedFrame({ src, dst: SERVER, sport: 7000, dport: 80 }));
    }
    tb.run();
    expect(tb.received(WAN).length).toBe(300);
    expect(nf.counters()).toMatchObject({ translated_out: 300, table_full: 0, port_exhausted: 0, mappings: 300 });
    expect(tb.violations).toEqual([]);
  });
});

describe('nat port choice (RFC 6056 Algorithm 4) and per-host quotas', () => {
  /** External ports given to `n` new mappings of one host (each to another remote port), in order. */
  function portsOf(n: number): number[] {
    const { tb } = setUp('restricted');
    for (let i = 0; i < n; i++) tb.send(LAN, udpChecksummedFrame({ src: HOST, dst: SERVER, sport: 4000, dport: 10000 + i }));
    tb.run();
    return tb.received(WAN).map((f) => u16(f, 34));
  }

  it('a port says nothing about the next one (to another destination), and NATs choose differently', () => {
    const a = portsOf(400);
    expect(a.length).toBe(400);
    expect(new Set(a).size).toBe(400);
    let consecutive = 0;
    for (let i = 1; i < a.length; i++) if (a[i] === a[i - 1] + 1) consecutive++;
    expect(consecutive).toBeLessThan(20); // round-robin allocation would make all 399 consecutive
    // the differences spread over the range (a guess from the previous port hits with probability ~1/64512)
    const b = portsOf(400);
    let same = 0;
    for (let i = 0; i < 400; i++) if (a[i] === b[i]) same++;
    expect(same).toBeLessThan(5); // another NAT (other keys) gives other ports to the same flows
    for (const p of a) {
      expect(p).toBeGreaterThanOrEqual(1024);
      expect(p).toBeLessThanOrEqual(65535);
    }
  });

  it('maxPortsPerHost caps one host (quota_refused), not the others, and frees its count when mappings expire', () => {
    const { tb, nf } = setUp('restricted', { maxPortsPerHost: 5, expiryNs: 1_000_000_000 });
    for (let i = 0; i < 50; i++) tb.send(LAN, udpChecksummedFrame({ src: HOST, dst: SERVER, sport: 4000 + i, dport: 53 }));
    for (let i = 0; i < 5; i++) tb.send(LAN, udpChecksummedFrame({ src: '10.0.0.3', dst: SERVER, sport: 4000 + i, dport: 53 }));
    tb.run();
    expect(tb.received(WAN).length).toBe(10);
    expect(nf.counters()).toMatchObject({ translated_out: 10, quota_refused: 45, mappings: 10, port_exhausted: 0 });
    // established mappings of the capped host keep working
    tb.send(LAN, udpChecksummedFrame({ src: HOST, dst: SERVER, sport: 4000, dport: 53 }));
    tb.run();
    expect(tb.received(WAN).length).toBe(1);
    tb.advanceTimeNs(1_500_000_000);
    tb.send(LAN, udpChecksummedFrame({ src: '10.0.0.3', dst: SERVER, sport: 9, dport: 53 })); // ticks the sweep
    tb.run();
    tb.received(WAN);
    tb.advanceTimeNs(200_000_000);
    for (let i = 100; i < 105; i++) tb.send(LAN, udpChecksummedFrame({ src: HOST, dst: SERVER, sport: 4000 + i, dport: 53 }));
    tb.run();
    expect(tb.received(WAN).length).toBe(5);
    expect(nf.counters().quota_refused).toBe(45);
    expect(tb.violations).toEqual([]);
  });
});

describe('nat configuration', () => {
  const def = nfDefinition('nat');
  const bad = (config: unknown, message: RegExp) => {
    expect(() => def.parseConfig(config)).toThrow(TinyNfError);
    expect(() => def.parseConfig(config)).toThrow(message);
  };

  it('has documented defaults that fit the lab, and a capacity bounded by the port range', () => {
    const c = def.parseConfig(undefined);
    expect(c).toEqual({ externalIp: 0x0a010001, startPort: 1024, endPort: 65535, capacity: 65536, expiryNs: 10_000_000_000, maxPortsPerHost: 0 });
    expect(def.capacity!(c)).toBe(65535 - 1024 + 1);
    expect(def.capacity!(def.parseConfig({ capacity: 100 }))).toBe(100);
    expect(Object.keys(def.flags).sort()).toEqual(['capacity', 'end-port', 'expiry-ns', 'external-ip', 'max-ports-per-host', 'start-port']);
  });

  it('rejects bad values with one clear error each', () => {
    bad({ externalIp: '10.1.0.256' }, /externalIp: not an IPv4 address \(got '10\.1\.0\.256'\)/);
    bad({ externalIp: 'gateway' }, /externalIp: not an IPv4 address/);
    bad({ startPort: 0 }, /startPort: not a port number \(1\.\.65535\)/);
    bad({ endPort: 70000 }, /endPort: not a port number \(1\.\.65535\)/);
    bad({ startPort: 5000, endPort: 4000 }, /endPort \(4000\) must not be below startPort \(5000\)/);
    bad({ capacity: 0 }, /capacity: must be an integer 1\.\.16777216/);
    bad({ capacity: 1.5 }, /capacity: must be a whole number/);
    bad({ expiryNs: -1 }, /expiryNs: must be a positive number/);
    bad({ expiryNs: 'soon' }, /expiryNs: not a number/);
    bad({ extIp: '10.1.0.1' }, /unknown field 'extIp'/);
    bad([], /not an object/);
    expect(() => def.create(def.parseConfig({}), { clock: { nowNs: () => 0 }, ports: 3 })).toThrow(/two ports/);
  });
});
