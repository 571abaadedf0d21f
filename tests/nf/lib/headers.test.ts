// The header views, the classifier, the checksums and the builders. Frames built by the library are checked against
// the independent helpers of tests/nf/frames.ts (checksums recomputed there from scratch) and against hand-written
// bytes; `tinynf decode` is checked against tshark in tests/cli/decode.test.ts.
import fc from 'fast-check';
import { formatIpv4, formatIpv6, formatMac, parseIpv4, parseIpv4Prefix, parseIpv6, parseIpv6Prefix, parseMac } from '../../../src/nf/lib/address';
import { frame, pattern } from '../../../src/nf/lib/build';
import { checksumReplace32, internetChecksum, ipv4HeaderChecksumValid } from '../../../src/nf/lib/checksum';
import { PacketInfo, classify } from '../../../src/nf/lib/classify';
import { ethernetPayload } from '../../../src/nf/lib/ethernet';
import { IP_PROTO_FRAGMENT, IP_PROTO_GRE, IP_PROTO_ICMPV6, IP_PROTO_TCP, IP_PROTO_UDP, IPV4_OPTION_ROUTER_ALERT, ipv4FindOption } from '../../../src/nf/lib/ipv4';
import { Ipv6Walk, ipv6Walk } from '../../../src/nf/lib/ipv6';
import * as M from '../../../src/nf/lib/malformed';
import { geneveCheck, geneveVni, greCheck, greKey, greProtocol, vxlanCheck, vxlanVni } from '../../../src/nf/lib/overlay';
import { TCP_OPTION_SACK_PERMITTED, tcpFindOption, tcpMss, tcpWindowScale } from '../../../src/nf/lib/transport';
import { ipv4HeaderLength } from '../../../src/nf/lib/packet';
import { checksumOf, ipv4, l4ChecksumOf } from '../frames';

const view = (f: Uint8Array) => new DataView(f.buffer, f.byteOffset, f.byteLength);
const info = new PacketInfo();

describe('addresses', () => {
  test('IPv4, MAC and IPv6 text round-trips (RFC 5952 output)', () => {
    expect(parseIpv4('10.1.2.3')).toBe(0x0a010203);
    expect(formatIpv4(0xc0a80001)).toBe('192.168.0.1');
    for (const bad of ['1.2.3', '256.0.0.1', '01.2.3.4', '1.2.3.4.5', '']) expect(parseIpv4(bad)).toBeNull();
    expect(formatMac(parseMac('02:AB:00:00:00:01')!)).toBe('02:ab:00:00:00:01');
    expect(parseMac('02:ab:00:00:00')).toBeNull();
    const cases: [string, string][] = [
      ['2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
      ['::', '::'],
      ['::1', '::1'],
      ['fe80::1:0:0:1', 'fe80::1:0:0:1'],
      ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'], // the first of two equal runs
      ['2001:db8::0:1', '2001:db8::1'],
      ['2001:db8:1:2:3:4:5:6', '2001:db8:1:2:3:4:5:6'],
      ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'], // a single zero group is not "::"
      ['::ffff:10.0.0.1', '::ffff:a00:1'],
    ];
    for (const [input, out] of cases) expect(formatIpv6(parseIpv6(input)!)).toBe(out);
    for (const bad of ['1::2::3', '2001:db8', '12345::', ':::', '1:2:3:4:5:6:7:8:9', 'g::1']) expect(parseIpv6(bad)).toBeNull();
    expect(parseIpv4Prefix('10.0.0.0/8')).toEqual([0x0a000000, 8]);
    expect(parseIpv4Prefix('10.0.0.1/8')).toBeNull(); // host bits set
    expect(parseIpv6Prefix('2001:db8::/32')![1]).toBe(32);
    expect(parseIpv6Prefix('2001:db8::1/64')).toBeNull();
  });
});

describe('builders', () => {
  test('frames agree byte for byte with hand-written ones (the independent helpers tests/nf/frames.ts had before)', () => {
    const hex = (f: Uint8Array) => Buffer.from(f).toString('hex');
    const tagged = new Uint8Array(18);
    tagged.set([0xde, 0xad, 0xbe, 0xef]);
    expect(hex(frame().eth().ipv4({ src: '10.1.0.2', dst: '10.0.0.9' }).udp({ sport: 1234, dport: 80, noChecksum: true }).payload(tagged).build())).toBe(
      '02000000000202000000000108004500002e00000000401166b40a0100020a00000904d20050001a0000deadbeef0000000000000000000000000000');
    expect(hex(frame().eth().ipv4({ src: '10.0.0.2', dst: '10.1.0.2' }).tcp({ sport: 40000, dport: 80, seq: 0x01020305, ack: 0x0a0b0c0d, flags: 0x18 }).payload(pattern(6, 1)).build())).toBe(
      '02000000000202000000000108004500002e00000000400666c60a0000020a0100029c400050010203050a0b0c0d5018faf010ec00000a29486786a5');
    expect(hex(frame().eth().ipv4({ src: '10.0.0.2', dst: '10.1.0.2' }).icmp({ id: 0x1234, seq: 1 }).payload(pattern(4, 4)).build())).toBe(
      '02000000000202000000000108004500002000000000400166d90a0000020a01000208006910123400011f3e5d7c');
    expect(hex(frame().eth().ipv4({ src: '10.0.0.2', dst: '10.1.0.2' }).udp({ sport: 5353, dport: 53 }).payload(pattern(5, 2)).build())).toBe(
      '02000000000202000000000108004500002100000000401166c80a0000020a01000214e90035000de91211304f6e8d');
    expect(hex(frame().eth({ dst: '02:00:00:00:00:09', src: '02:00:00:00:00:aa' }).arp({ op: 'reply', senderMac: '02:00:00:00:00:aa', senderIp: '10.0.0.1', targetMac: '02:00:00:00:00:09', targetIp: '10.0.0.9' }).padTo(60).build())).toBe(
      '0200000000090200000000aa080600010800060400020200000000aa0a0000010200000000090a000009000000000000000000000000000000000000');
    expect(hex(frame().eth({ dst: '02:00:00:00:00:0b', src: '02:00:00:00:00:0a' }).ipv4({ src: '1.2.3.4', dst: '5.6.7.8', protocol: 47, ttl: 9, flagsFragment: 0xa005 }).payload([1, 2, 3]).build())).toBe(
      '02000000000b02000000000a0800450000170000a005092f01a00102030405060708010203');
  });

  test('checksums of TCP, UDP, ICMP over IPv4 verify with the independent code', () => {
    const tcp = frame().eth().ipv4({ src: '10.0.0.1', dst: '10.0.0.2', options: [IPV4_OPTION_ROUTER_ALERT, 4, 0, 0] }).tcp({ sport: 5, dport: 6, options: [2, 4, 5, 180, 1, 3, 3, 7] }).payload(33).build();
    expect(checksumOf(tcp, 14, 14 + 24)).toBe(0);
    expect(l4ChecksumOf(tcp)).toBe(0);
    const udp = frame().eth().ipv4({ src: '10.0.0.1', dst: '10.0.0.2' }).udp().payload(7).build();
    expect(l4ChecksumOf(udp)).toBe(0);
    const icmp = frame().eth().ipv4({ src: '10.0.0.1', dst: '10.0.0.2' }).icmp({ type: 8, id: 77, seq: 1 }).payload(11).build();
    expect(checksumOf(icmp, 34, icmp.length)).toBe(0);
    expect(ipv4HeaderChecksumValid(view(icmp), 14, 20)).toBe(true);
  });

  test('IPv6 with extension headers: next-header chain, payload length, ICMPv6/UDP checksums over the pseudo-header', () => {
    const f = frame().eth().ipv6({ src: '2001:db8::1', dst: '2001:db8::2', extensions: [{ type: 0 }, { type: 60, length: 16 }] }).udp({ sport: 53, dport: 5353 }).payload(10).build();
    const d = view(f);
    expect(d.getUint16(12)).toBe(0x86dd);
    expect(d.getUint16(18)).toBe(f.length - 54);
    expect(f[20]).toBe(0); // hop-by-hop first
    expect(f[54]).toBe(60);
    expect(f[62]).toBe(IP_PROTO_UDP);
    // independent pseudo-header sum: addresses, length, next header, then the segment
    const seg = f.subarray(78);
    const p = new Uint8Array(40 + seg.length);
    p.set(f.subarray(22, 54), 0);
    new DataView(p.buffer).setUint32(32, seg.length);
    p[39] = IP_PROTO_UDP;
    p.set(seg, 40);
    expect(checksumOf(p, 0, p.length)).toBe(0);
    const w = new Ipv6Walk();
    expect(ipv6Walk(d, 14, w)).toBe(78);
    expect([w.protocol, w.extensions, w.fragment]).toEqual([IP_PROTO_UDP, 2, 0]);
  });

  test('VLAN, QinQ, ARP and tunnels', () => {
    const q = frame().eth().vlan({ id: 100, tpid: 0x88a8 }).vlan(200).ipv4({ src: '1.1.1.1', dst: '2.2.2.2' }).udp({ sport: 1, dport: 2 }).build();
    expect(classify(view(q), 0, q.length, info)).toBe(M.OK);
    expect([info.vlans, info.outerVlan, info.innerVlan, info.ethertype, info.l3, info.l4]).toEqual([2, 100, 200, 0x0800, 22, 42]);
    const a = frame().eth({ dst: 'ff:ff:ff:ff:ff:ff' }).arp({ senderMac: '02:00:00:00:00:09', senderIp: '10.0.0.9', targetIp: '10.0.0.1' }).padTo(60).build();
    expect(a.length).toBe(60);
    expect(classify(view(a), 0, a.length, info)).toBe(M.OK);
    expect([info.ethertype, info.l3End]).toEqual([0x0806, 42]);
    const vx = frame().eth().ipv4({ src: '1.1.1.1', dst: '2.2.2.2' }).udp().vxlan({ vni: 0x123456 }).eth().ipv4({ src: '10.0.0.1', dst: '10.0.0.2' }).tcp({ sport: 7, dport: 8 }).build();
    const d = view(vx);
    expect(classify(d, 0, vx.length, info)).toBe(M.OK);
    expect(info.dstPort).toBe(4789);
    expect(vxlanCheck(d, info.payload, info.l3End)).toBe(8);
    expect(vxlanVni(d, info.payload)).toBe(0x123456);
    const inner = new PacketInfo();
    expect(classify(d, info.payload + 8, vx.length, inner)).toBe(M.OK);
    expect([formatIpv4(inner.srcIp), inner.protocol, inner.srcPort, inner.dstPort]).toEqual(['10.0.0.1', IP_PROTO_TCP, 7, 8]);
    expect(l4ChecksumOf(vx.subarray(50))).toBe(0); // inner TCP checksum
    expect(l4ChecksumOf(vx)).toBe(0); // outer UDP checksum covers the inner frame
    const gre = frame().eth().ipv4({ src: '1.1.1.1', dst: '2.2.2.2' }).gre({ key: 42, checksum: true }).ipv4({ src: '10.0.0.1', dst: '10.0.0.2' }).udp().build();
    const g = view(gre);
    expect(classify(g, 0, gre.length, info)).toBe(M.OK);
    expect([info.protocol, info.l4]).toEqual([IP_PROTO_GRE, 34]);
    expect(greCheck(g, 34, info.l3End)).toBe(12);
    expect([greKey(g, 34), greProtocol(g, 34)]).toEqual([42, 0x0800]);
    expect(checksumOf(gre, 34, gre.length)).toBe(0);
    const gen = frame().eth().ipv6({ src: '::1', dst: '::2' }).udp().geneve({ vni: 9, options: [0, 1, 2, 1, 0, 0, 0, 0] }).eth().ipv4({ src: '1.2.3.4', dst: '5.6.7.8' }).build();
    const gd = view(gen);
    expect(classify(gd, 0, gen.length, info)).toBe(M.OK);
    expect(info.dstPort).toBe(6081);
    expect(geneveCheck(gd, info.payload, info.l3End)).toBe(16);
    expect(geneveVni(gd, info.payload)).toBe(9);
  });
});

describe('classifier', () => {
  test('IPv4 TCP with options: 5-tuple, offsets, options found', () => {
    const f = frame().eth().ipv4({ src: '10.0.0.1', dst: '10.9.0.2', options: [IPV4_OPTION_ROUTER_ALERT, 4, 0, 0] })
      .tcp({ sport: 4000, dport: 443, flags: 0x02, options: [2, 4, 5, 180, 1, 3, 3, 7, 4, 2, 0, 0] }).payload(5).padTo(80).build();
    const d = view(f);
    expect(classify(d, 0, f.length, info)).toBe(M.OK);
    expect([info.ipVersion, info.l3, info.l4, info.payload, info.l3End, info.protocol]).toEqual([4, 14, 38, 70, 75, IP_PROTO_TCP]);
    expect([info.srcIp, info.dstIp, info.srcPort, info.dstPort, info.tcpFlags]).toEqual([ipv4('10.0.0.1'), ipv4('10.9.0.2'), 4000, 443, 0x02]);
    expect(ipv4FindOption(d, 14, IPV4_OPTION_ROUTER_ALERT)).toBe(34);
    expect([tcpMss(d, 38), tcpWindowScale(d, 38), tcpFindOption(d, 38, TCP_OPTION_SACK_PERMITTED)]).toEqual([1460, 7, 66]);
  });

  test('IPv6 fragments: the first has the transport header, a later one does not', () => {
    const first = frame().eth().ipv6({ src: '::1', dst: '::2', extensions: [{ type: IP_PROTO_FRAGMENT, more: true }] }).udp({ sport: 9, dport: 10 }).payload(16).build();
    expect(classify(view(first), 0, first.length, info)).toBe(M.OK);
    expect([info.fragment, info.laterFragment, info.protocol, info.srcPort]).toEqual([1, 0, IP_PROTO_UDP, 9]);
    const later = frame().eth().ipv6({ src: '::1', dst: '::2', nextHeader: IP_PROTO_UDP, extensions: [{ type: IP_PROTO_FRAGMENT, fragmentOffset: 3 }] }).payload(16).build();
    expect(classify(view(later), 0, later.length, info)).toBe(M.OK);
    expect([info.fragment, info.laterFragment, info.protocol, info.l4, info.srcPort]).toEqual([1, 1, IP_PROTO_UDP, -1, 0]);
    const v4later = frame().eth().ipv4({ src: '1.1.1.1', dst: '2.2.2.2', fragmentOffset: 10, protocol: IP_PROTO_UDP }).payload(20).build();
    expect(classify(view(v4later), 0, v4later.length, info)).toBe(M.OK);
    expect([info.fragment, info.laterFragment, info.l4]).toEqual([1, 1, -1]);
  });

  test('ICMPv6: type and code in the port fields', () => {
    const f = frame().eth().ipv6({ src: 'fe80::1', dst: 'ff02::1' }).icmpv6({ type: 135 }).payload(16).build();
    expect(classify(view(f), 0, f.length, info)).toBe(M.OK);
    expect([info.protocol, info.srcPort, info.dstPort]).toEqual([IP_PROTO_ICMPV6, 135, 0]);
  });

  test('each kind of malformed input gives its code', () => {
    const base = () => frame().eth().ipv4({ src: '1.1.1.1', dst: '2.2.2.2' });
    const cases: [Uint8Array, number][] = [
      [new Uint8Array(13), M.TRUNCATED_ETHERNET],
      [frame().eth().vlan(1).build().subarray(0, 16), M.TRUNCATED_VLAN],
      [frame().eth().vlan(1).vlan(2).vlan(3).vlan(4).vlan(5).ipv4({ src: 1, dst: 2 }).build(), M.TOO_MANY_VLAN_TAGS],
      [frame().eth().arp({ senderMac: '02:00:00:00:00:01', senderIp: 1, targetIp: 2 }).build().subarray(0, 40), M.TRUNCATED_ARP],
      [base().build().subarray(0, 33), M.TRUNCATED_IPV4],
      [frame().eth({ type: 0x0800 }).ipv4({ src: 1, dst: 2, version: 5 }).build(), M.BAD_IPV4_VERSION],
      [base().udp().payload(40).build().fill(0x44, 14, 15), M.BAD_IPV4_IHL], // IHL 4
      [frame().eth().ipv4({ src: 1, dst: 2, ihl: 15 }).udp().build(), M.BAD_IPV4_IHL], // IHL beyond the frame
      [frame().eth().ipv4({ src: 1, dst: 2, totalLength: 19 }).udp().build(), M.BAD_IPV4_TOTAL_LENGTH],
      [frame().eth().ipv4({ src: 1, dst: 2, totalLength: 100 }).udp().build(), M.BAD_IPV4_TOTAL_LENGTH],
      [frame().eth().ipv4({ src: 1, dst: 2, options: [7, 9, 4, 0] }).udp().build(), M.BAD_IPV4_OPTIONS],
      [frame().eth().ipv6({ src: '::1', dst: '::2' }).build().subarray(0, 50), M.TRUNCATED_IPV6],
      [frame().eth().ipv6({ src: '::1', dst: '::2', payloadLength: 100 }).udp().build(), M.BAD_IPV6_PAYLOAD_LENGTH],
      [frame().eth().ipv6({ src: '::1', dst: '::2', nextHeader: 0 }).payload(4).build(), M.TRUNCATED_IPV6_EXTENSION],
      [frame().eth().ipv6({ src: '::1', dst: '::2', extensions: Array.from({ length: 9 }, () => ({ type: 60 })) }).udp().build(), M.TOO_MANY_IPV6_EXTENSIONS],
      [base().udp().build().subarray(0, 40), M.BAD_IPV4_TOTAL_LENGTH],
      [frame().eth().ipv4({ src: 1, dst: 2, protocol: IP_PROTO_UDP }).payload(6).build(), M.TRUNCATED_UDP],
      [base().udp({ length: 7 }).build(), M.BAD_UDP_LENGTH],
      [base().udp({ length: 30 }).payload(4).build(), M.BAD_UDP_LENGTH],
      [frame().eth().ipv4({ src: 1, dst: 2, protocol: IP_PROTO_TCP }).payload(19).build(), M.TRUNCATED_TCP],
      [base().tcp({ dataOffset: 4 }).payload(10).build(), M.BAD_TCP_DATA_OFFSET],
      [base().tcp({ dataOffset: 15 }).payload(10).build(), M.BAD_TCP_DATA_OFFSET],
      [base().tcp({ options: [2, 9, 0, 0] }).build(), M.BAD_TCP_OPTIONS],
      [frame().eth().ipv4({ src: 1, dst: 2, protocol: 1 }).payload(7).build(), M.TRUNCATED_ICMP],
    ];
    cases.forEach(([f, code], i) => {
      expect([i, classify(view(f), 0, f.length, info)]).toEqual([i, code]);
      expect(M.malformedReason(code)).not.toMatch(/unknown/);
    });
    expect(M.malformedName(M.BAD_IPV4_IHL)).toBe('bad_ipv4_ihl');
  });

  test('an extension-header chain cannot loop: every step moves forward, and the count is bounded', () => {
    // 8 destination-options headers each naming the next as destination options, then garbage: bounded
    const f = frame().eth().ipv6({ src: '::1', dst: '::2', extensions: Array.from({ length: 8 }, () => ({ type: 60 })), nextHeader: 60 }).payload(8).build();
    expect(classify(view(f), 0, f.length, info)).toBe(M.TOO_MANY_IPV6_EXTENSIONS);
  });

  test('property: random bytes and every truncation of valid frames classify without an exception or an out-of-bounds read', () => {
    // A DataView exactly as long as the frame throws RangeError on any read past it: so "no exception" also
    // proves "no out-of-bounds read".
    const valid = [
      frame().eth().vlan(5).ipv4({ src: 1, dst: 2, options: [1, 1, 1, 0] }).tcp({ options: [2, 4, 1, 1] }).payload(9).build(),
      frame().eth().ipv6({ src: '::1', dst: '::2', extensions: [{ type: 0 }, { type: 44, more: true }, { type: 51 }] }).udp().payload(3).build(),
      frame().eth().arp({ senderMac: '02:00:00:00:00:01', senderIp: 1, targetIp: 2 }).build(),
      frame().eth().ipv4({ src: 1, dst: 2 }).icmp().build(),
    ];
    for (const f of valid) {
      for (let n = 0; n <= f.length; n++) {
        const copy = f.slice(0, n);
        const status = classify(view(copy), 0, n, info);
        // every cut of these frames falls short of a header or of a length field; the whole frame is fine
        expect([n, status < 0]).toEqual([n, n < f.length]);
      }
    }
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 120 }), fc.constantFrom(0x0800, 0x86dd, 0x8100, 0x0806), fc.nat(4), (bytes, type, proto) => {
        const f = Uint8Array.from(bytes);
        if (f.length >= 14) { f[12] = type >> 8; f[13] = type & 0xff; }
        if (f.length >= 24 && type === 0x0800) { f[14] = 0x45; f[23] = [6, 17, 1, 47, 132][proto]; }
        if (f.length >= 21 && type === 0x86dd) { f[14] = 0x60; f[20] = [0, 43, 44, 60, 51][proto]; }
        const status = classify(view(f), 0, f.length, info);
        expect(status).toBeLessThanOrEqual(0);
        if (status === M.OK && info.l4 >= 0) expect(info.l4).toBeLessThanOrEqual(info.l3End);
        expect(info.l3End).toBeLessThanOrEqual(f.length);
        ethernetPayload(view(f), f.length);
        ipv4HeaderLength(view(f), f.length);
      }),
      { numRuns: 3000 },
    );
  });
});

describe('checksums', () => {
  test('full checksum matches the independent one; incremental update equals recomputation (RFC 1624)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 20, maxLength: 20 }), fc.nat(0xffffffff), (bytes, newAddress) => {
        const h = Uint8Array.from(bytes);
        h[10] = 0;
        h[11] = 0;
        const c = internetChecksum(h, 0, 20);
        expect(c).toBe(checksumOf(h, 0, 20));
        h[10] = c >> 8;
        h[11] = c & 0xff;
        const d = view(h);
        const old = d.getUint32(12);
        d.setUint16(10, checksumReplace32(c, old, newAddress >>> 0));
        d.setUint32(12, newAddress >>> 0);
        expect(ipv4HeaderChecksumValid(d, 0, 20)).toBe(true);
      }),
    );
  });
});
