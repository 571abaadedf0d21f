// The tunnel NF through the real driver on the in-memory 82599, for both driver models. Outer headers are parsed
// and checked here from scratch (checksums recomputed by tests/nf/frames.ts, not by src/nf).
import fc from 'fast-check';
import { TinyNfError } from '../../src/env/environment';
import { nfDefinition } from '../../src/nf';
import type { NetworkFunction } from '../../src/nf/network-function';
import { Testbed } from '../../src/app/testbed';
import { arpFrame, checksumOf, ipv4, ipv4Frame, udpFrame } from './frames';

const LAN = 0;
const WAN = 1;
const A_IP = '198.51.100.1';
const B_IP = '198.51.100.2';
const NEXT_HOP = [0x02, 0xbb, 0, 0, 0, 0x02];
const OWN_MAC = [0x02, 0xaa, 0, 0, 0, 0x01];
const mac = (b: number[]): string => b.map((x) => x.toString(16).padStart(2, '0')).join(':');

/** Endpoint A: one FIB entry per encapsulation, keyed by the inner destination IPv4, all towards B. */
const A_CONFIG = {
  localIp: A_IP,
  fib: [
    { key: '10.9.0.1', encap: 'vxlan', vni: 0x123456, dstIp: B_IP, srcMac: mac(OWN_MAC), dstMac: mac(NEXT_HOP), ttl: 33, tos: 0x28, df: true },
    { key: '10.9.0.2', encap: 'gre', dstIp: B_IP, srcMac: mac(OWN_MAC), dstMac: mac(NEXT_HOP) },
    { key: '10.9.0.3', encap: 'gre', greKey: 0xdeadbeef, dstIp: B_IP, srcMac: mac(OWN_MAC), dstMac: mac(NEXT_HOP) },
    { key: '10.9.0.4', encap: 'gretap', greKey: 7, dstIp: B_IP, srcMac: mac(OWN_MAC), dstMac: mac(NEXT_HOP) },
    { key: '10.9.0.5', encap: 'ipip', dstIp: B_IP, srcIp: '203.0.113.7', srcMac: mac(OWN_MAC), dstMac: mac(NEXT_HOP) },
    { key: '10.9.0.6', encap: 'gretap', dstIp: B_IP, srcMac: mac(OWN_MAC), dstMac: mac(NEXT_HOP) },
  ],
};
/** Endpoint B: decapsulates what A sends (udpFrame's MACs for the rebuilt Ethernet header of GRE/IPIP). */
const B_CONFIG = {
  localIp: B_IP,
  fib: [],
  vnis: [0x123456],
  greKeys: [0xdeadbeef, 7],
  innerSrcMac: '02:00:00:00:00:01',
  innerDstMac: '02:00:00:00:00:02',
};

function setUp(model: 'restricted' | 'flexible', config: unknown, ports = 2): { tb: Testbed; nf: NetworkFunction } {
  const tb = Testbed.create({ ports, model });
  const def = nfDefinition('tunnel');
  const nf = def.create(def.parseConfig(config), { clock: tb.env, ports });
  tb.attach(nf);
  return { tb, nf };
}

const u16 = (f: Uint8Array, at: number): number => (f[at] << 8) | f[at + 1];
const u32 = (f: Uint8Array, at: number): number => ((f[at] << 24) | (f[at + 1] << 16) | (f[at + 2] << 8) | f[at + 3]) >>> 0;
const bytes = (f: Uint8Array, from: number, to: number): number[] => Array.from(f.subarray(from, to));

/** Check the outer Ethernet + IPv4 header independently; returns the offset of the outer L4 header. */
function checkOuter(out: Uint8Array, expect_: { proto: number; src: string; dst: string; ttl: number; tos: number; df: boolean }): number {
  expect(bytes(out, 0, 6)).toEqual(NEXT_HOP);
  expect(bytes(out, 6, 12)).toEqual(OWN_MAC);
  expect(u16(out, 12)).toBe(0x0800);
  expect(out[14]).toBe(0x45);
  expect(out[15]).toBe(expect_.tos);
  expect(u16(out, 16)).toBe(out.length - 14);
  expect(u16(out, 20)).toBe(expect_.df ? 0x4000 : 0);
  expect(out[22]).toBe(expect_.ttl);
  expect(out[23]).toBe(expect_.proto);
  expect(u32(out, 26)).toBe(ipv4(expect_.src));
  expect(u32(out, 30)).toBe(ipv4(expect_.dst));
  // recompute the header checksum from scratch over a copy with the field zeroed, and compare
  const header = out.slice(14, 34);
  header[10] = 0;
  header[11] = 0;
  expect(u16(out, 24)).toBe(checksumOf(header, 0, 20));
  expect(checksumOf(out, 14, 34)).toBe(0);
  return 34;
}

/** An IPv4/UDP frame whose IP total length (28) is shorter than the 60-byte frame: Ethernet padding follows. */
function paddedInner(dst: string): Uint8Array {
  const f = udpFrame({ dst, size: 60 });
  const v = new DataView(f.buffer);
  v.setUint16(16, 28);
  v.setUint16(38, 8);
  v.setUint16(24, 0);
  v.setUint16(24, checksumOf(f, 14, 34));
  f.fill(0xee, 42); // padding bytes that must not be carried
  return f;
}

function udpChecksum(f: Uint8Array): number {
  const udpLength = u16(f, 38);
  const p = new Uint8Array(12 + udpLength);
  p.set(f.subarray(26, 34), 0);
  p[9] = 17;
  p[10] = udpLength >> 8;
  p[11] = udpLength & 0xff;
  p.set(f.subarray(34, 34 + udpLength), 12);
  p[12 + 6] = 0;
  p[12 + 7] = 0;
  const c = checksumOf(p, 0, p.length);
  return c === 0 ? 0xffff : c;
}

function vxlanPayload(inner: Uint8Array, opts: { vni?: number; flags?: number; udpLength?: number; dport?: number } = {}): Uint8Array {
  const p = new Uint8Array(16 + inner.length);
  const v = new DataView(p.buffer);
  v.setUint16(0, 50000);
  v.setUint16(2, opts.dport ?? 4789);
  v.setUint16(4, opts.udpLength ?? p.length);
  p[8] = opts.flags ?? 0x08;
  v.setUint32(12, ((opts.vni ?? 0x123456) << 8) >>> 0);
  p.set(inner, 16);
  return p;
}

function grePayload(inner: Uint8Array, opts: { flags?: number; protocol?: number; words?: number[] } = {}): Uint8Array {
  const words = opts.words ?? [];
  const p = new Uint8Array(4 + 4 * words.length + inner.length);
  const v = new DataView(p.buffer);
  v.setUint16(0, opts.flags ?? 0);
  v.setUint16(2, opts.protocol ?? 0x6558);
  words.forEach((w, i) => v.setUint32(4 + 4 * i, w));
  p.set(inner, 4 + 4 * words.length);
  return p;
}

function padded(f: Uint8Array): Uint8Array {
  if (f.length >= 60) return f;
  const out = new Uint8Array(60);
  out.set(f);
  return out;
}

describe.each(['restricted', 'flexible'] as const)('tunnel (%s model)', (model) => {
  it('VXLAN: byte-correct outer headers, I flag and VNI, UDP 4789 with per-flow source ports in 49152-65535', () => {
    const { tb, nf } = setUp(model, A_CONFIG);
    const inner = udpFrame({ dst: '10.9.0.1', sport: 999, size: 100, tag: 0xcafe });
    tb.send(LAN, inner);
    tb.run();
    const [out] = tb.received(WAN);
    expect(out.length).toBe(100 + 50);
    const l4 = checkOuter(out, { proto: 17, src: A_IP, dst: B_IP, ttl: 33, tos: 0x28, df: true });
    const sport = u16(out, l4);
    expect(sport).toBeGreaterThanOrEqual(49152);
    expect(sport).toBeLessThanOrEqual(65535);
    expect(u16(out, l4 + 2)).toBe(4789);
    expect(u16(out, l4 + 4)).toBe(out.length - 34);
    expect(u16(out, l4 + 6)).toBe(0); // UDP checksum 0 (RFC 7348)
    expect(bytes(out, 42, 50)).toEqual([0x08, 0, 0, 0, 0x12, 0x34, 0x56, 0]);
    expect(bytes(out, 50, out.length)).toEqual(Array.from(inner));

    // 64 inner flows (different source ports), each sent 3 times, interleaved
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 64; i++) tb.send(LAN, udpFrame({ dst: '10.9.0.1', sport: 2000 + i, size: 60 }));
    }
    tb.run();
    const outs = tb.received(WAN);
    expect(outs.length).toBe(192);
    const portOf = new Map<number, number>();
    const ids = new Set<number>();
    for (const o of outs) {
      expect(checksumOf(o, 14, 34)).toBe(0);
      ids.add(u16(o, 18));
      const innerSport = u16(o, 50 + 34);
      const outer = u16(o, 34);
      expect(outer).toBeGreaterThanOrEqual(49152);
      if (portOf.has(innerSport)) expect(portOf.get(innerSport)).toBe(outer); // one flow keeps one port
      else portOf.set(innerSport, outer);
    }
    expect(portOf.size).toBe(64);
    expect(new Set(portOf.values()).size).toBeGreaterThanOrEqual(56); // 64 flows over 16384 ports spread out
    expect(ids.size).toBe(192); // outer identification differs per packet
    expect(nf.counters()).toMatchObject({ encapsulated: 193, fib_miss: 0 });
    expect(tb.violations).toEqual([]);
  });

  it('GRE (IPv4 payload, with and without key), GRE-TAP (whole frame) and IPIP: headers and payloads', () => {
    const { tb, nf } = setUp(model, A_CONFIG);
    const gre = udpFrame({ dst: '10.9.0.2', size: 80 });
    const greKeyed = udpFrame({ dst: '10.9.0.3', size: 81 });
    const gretap = udpFrame({ dst: '10.9.0.4', size: 90 });
    const ipip = paddedInner('10.9.0.5');
    const gretapUnkeyed = udpFrame({ dst: '10.9.0.6', size: 60 });
    for (const f of [gre, greKeyed, gretap, ipip, gretapUnkeyed]) tb.send(LAN, f);
    tb.run();
    const [o1, o2, o3, o4, o5] = tb.received(WAN);
    const base = { src: A_IP, dst: B_IP, ttl: 64, tos: 0, df: false };

    expect(o1.length).toBe(34 + 4 + 66);
    checkOuter(o1, { ...base, proto: 47 });
    expect(bytes(o1, 34, 38)).toEqual([0, 0, 0x08, 0x00]); // no flags, version 0, IPv4
    expect(bytes(o1, 38, o1.length)).toEqual(Array.from(gre.subarray(14)));

    expect(o2.length).toBe(34 + 8 + 67);
    checkOuter(o2, { ...base, proto: 47 });
    expect(bytes(o2, 34, 42)).toEqual([0x20, 0, 0x08, 0x00, 0xde, 0xad, 0xbe, 0xef]); // K flag, key
    expect(bytes(o2, 42, o2.length)).toEqual(Array.from(greKeyed.subarray(14)));

    expect(o3.length).toBe(34 + 8 + 90);
    checkOuter(o3, { ...base, proto: 47 });
    expect(bytes(o3, 34, 42)).toEqual([0x20, 0, 0x65, 0x58, 0, 0, 0, 7]); // Transparent Ethernet Bridging
    expect(bytes(o3, 42, o3.length)).toEqual(Array.from(gretap));

    expect(o4.length).toBe(34 + 28); // the inner IPv4 packet only: Ethernet header and padding stripped
    checkOuter(o4, { ...base, proto: 4, src: '203.0.113.7' });
    expect(bytes(o4, 34, o4.length)).toEqual(Array.from(ipip.subarray(14, 42)));

    expect(o5.length).toBe(34 + 4 + 60);
    checkOuter(o5, { ...base, proto: 47 });
    expect(bytes(o5, 34, 38)).toEqual([0, 0, 0x65, 0x58]);
    expect(bytes(o5, 38, o5.length)).toEqual(Array.from(gretapUnkeyed));
    expect(nf.counters().encapsulated).toBe(5);
    expect(tb.violations).toEqual([]);
  });

  it('round trip: what A encapsulates, B decapsulates back into the identical inner frame', () => {
    const a = setUp(model, A_CONFIG);
    const b = setUp(model, B_CONFIG);
    const inners: Uint8Array[] = [];
    for (let d = 1; d <= 6; d++) {
      for (const size of [60, 101, 1400]) {
        const f = udpFrame({ dst: `10.9.0.${d}`, sport: 100 * d + size, size, tag: d * size });
        for (let i = 46; i < size; i++) f[i] = (i * 7 + d) & 0xff;
        if (d === 1 || d === 4 || d === 6) f.set([0x0e, d, size & 0xff, 3, 4, 5], 0); // L2 tunnels keep any MACs
        inners.push(f);
        a.tb.send(LAN, f);
      }
    }
    a.tb.run();
    const encapsulated = a.tb.received(WAN);
    expect(encapsulated.length).toBe(inners.length);
    for (const f of encapsulated) b.tb.send(WAN, f);
    b.tb.run();
    const restored = b.tb.received(LAN);
    expect(restored.map((f) => Array.from(f))).toEqual(inners.map((f) => Array.from(f)));
    expect(b.nf.counters()).toMatchObject({ decapsulated: inners.length, malformed: 0, non_tunnel: 0 });
    expect(a.tb.violations).toEqual([]);
    expect(b.tb.violations).toEqual([]);
  });

  it('FIB misses, keys beyond the frame and non-IPv4 frames for GRE/IPIP entries are dropped and counted', () => {
    const { tb, nf } = setUp(model, A_CONFIG);
    tb.send(LAN, udpFrame({ dst: '10.9.9.9' }));
    tb.send(LAN, arpFrame()); // key bytes 30..33 of an ARP frame: no entry
    const badIhl = udpFrame({ dst: '10.9.0.2' });
    badIhl[14] = 0x44;
    tb.send(LAN, badIhl); // gre entry, inner IHL 4
    const ipv6 = udpFrame({ dst: '10.9.0.5' });
    ipv6[12] = 0x86;
    ipv6[13] = 0xdd;
    tb.send(LAN, ipv6); // ipip entry, not IPv4
    tb.run();
    expect(tb.received(WAN)).toEqual([]);
    expect(nf.counters()).toMatchObject({ fib_miss: 2, inner_not_ipv4: 2, encapsulated: 0 });

    // protocol independence: a 16-byte key at offset 64 (in the payload); 60-byte frames do not reach it
    const key = '00112233445566778899aabbccddeeff';
    const p = setUp(model, {
      keyOffset: 64,
      keyLength: 16,
      localIp: A_IP,
      fib: [{ key, encap: 'gretap', dstIp: B_IP, srcMac: mac(OWN_MAC), dstMac: mac(NEXT_HOP) }],
    });
    const hit = udpFrame({ dst: '10.0.0.1', size: 100 });
    hit.set(Buffer.from(key, 'hex'), 64);
    const miss = hit.slice();
    miss[79] ^= 1;
    p.tb.send(LAN, udpFrame({ dst: '10.0.0.1', size: 60 }));
    p.tb.send(LAN, udpFrame({ dst: '10.0.0.1', size: 79 })); // one byte short of the key
    p.tb.send(LAN, hit);
    p.tb.send(LAN, miss);
    p.tb.run();
    const out = p.tb.received(WAN);
    expect(out.length).toBe(1);
    expect(bytes(out[0], 38, out[0].length)).toEqual(Array.from(hit));
    expect(p.nf.counters()).toMatchObject({ key_out_of_frame: 2, fib_miss: 1, encapsulated: 1 });

    // keyed by destination MAC (offset 0, length 6), whatever the payload
    const m = setUp(model, {
      keyOffset: 0,
      keyLength: 6,
      localIp: A_IP,
      fib: [{ key: '02:00:00:00:00:02', encap: 'vxlan', vni: 5, dstIp: B_IP, srcMac: mac(OWN_MAC), dstMac: mac(NEXT_HOP) }],
    });
    m.tb.send(LAN, arpFrame()); // broadcast: miss
    m.tb.send(LAN, udpFrame({ dst: '10.7.7.7' }));
    m.tb.run();
    const vx = m.tb.received(WAN);
    expect(vx.length).toBe(1);
    expect(bytes(vx[0], 42, 50)).toEqual([8, 0, 0, 0, 0, 0, 5, 0]);
    expect(m.nf.counters()).toMatchObject({ fib_miss: 1, encapsulated: 1 });
    expect(tb.violations).toEqual([]);
  });

  it('drops and counts encapsulations larger than the MTU; the largest that fits goes out', () => {
    const { tb, nf } = setUp(model, A_CONFIG); // mtu 1500
    tb.send(LAN, udpFrame({ dst: '10.9.0.1', size: 1464 })); // VXLAN: outer IPv4 total 1464 + 36 = 1500
    tb.send(LAN, udpFrame({ dst: '10.9.0.1', size: 1465 }));
    tb.send(LAN, udpFrame({ dst: '10.9.0.1', size: 1514 }));
    tb.send(LAN, udpFrame({ dst: '10.9.0.2', size: 1490 })); // GRE: 20 + 4 + 1476 = 1500
    tb.send(LAN, udpFrame({ dst: '10.9.0.2', size: 1491 }));
    tb.run();
    const out = tb.received(WAN);
    expect(out.map((f) => u16(f, 16))).toEqual([1500, 1500]);
    expect(nf.counters()).toMatchObject({ oversize: 3, encapsulated: 2 });
    expect(tb.stats().forwarders[LAN]!.droppedPackets).toBe(3);

    // with the largest MTU, a full-size frame in VXLAN fills 1564 of the 2048-byte buffer
    const big = setUp(model, { ...A_CONFIG, mtu: 2034 });
    const full = udpFrame({ dst: '10.9.0.1', size: 1514 });
    big.tb.send(LAN, full);
    big.tb.run();
    const [o] = big.tb.received(WAN);
    expect(o.length).toBe(1564);
    expect(checksumOf(o, 14, 34)).toBe(0);
    expect(bytes(o, 50, 1564)).toEqual(Array.from(full));
    expect(big.tb.violations).toEqual([]);
  });

  it('decapsulation validates outer headers: malformed, unknown and non-tunnel frames are dropped and counted', () => {
    const { tb, nf } = setUp(model, B_CONFIG);
    const inner = udpFrame({ dst: '10.0.0.9', size: 64, tag: 77 });
    const ip = inner.subarray(14);
    const vx = (opts: Parameters<typeof vxlanPayload>[1] = {}, ipOpts: { dst?: string; flagsFragment?: number } = {}) =>
      ipv4Frame({ src: A_IP, dst: ipOpts.dst ?? B_IP, proto: 17, payload: vxlanPayload(inner, opts), flagsFragment: ipOpts.flagsFragment });
    const gre = (payload: Uint8Array) => ipv4Frame({ src: A_IP, dst: B_IP, proto: 47, payload });
    const expected: Record<string, number> = {};
    const sent: Uint8Array[] = [];
    const delivered: Uint8Array[] = [];
    const send = (f: Uint8Array, counter: string, deliver?: Uint8Array) => {
      sent.push(padded(f));
      expected[counter] = (expected[counter] ?? 0) + 1;
      if (deliver !== undefined) delivered.push(deliver);
    };

    send(arpFrame(), 'non_tunnel');
    send(vx({}, { dst: '198.51.100.9' }), 'non_tunnel'); // not our address
    send(vx({ dport: 53 }), 'non_tunnel'); // UDP, not VXLAN
    send(ipv4Frame({ src: A_IP, dst: B_IP, proto: 6, payload: new Uint8Array(20) }), 'non_tunnel');
    const badSum = vx();
    badSum[25] ^= 0x40;
    send(badSum, 'bad_checksum');
    const ihl4 = vx();
    ihl4[14] = 0x44;
    send(ihl4, 'malformed');
    const longTotal = vx();
    new DataView(longTotal.buffer).setUint16(16, 1000);
    send(longTotal, 'malformed'); // (checksum not fixed: the length check comes first)
    send(vx().subarray(0, 40).slice(), 'malformed'); // truncated frame
    send(vx({}, { flagsFragment: 0x2000 }), 'fragment'); // MF
    send(vx({}, { flagsFragment: 0x0010 }), 'fragment'); // offset
    send(vx({ udpLength: 15 }), 'malformed');
    send(vx({ udpLength: 8 + 8 + 64 + 1 }), 'malformed'); // beyond the IPv4 packet
    send(vx({ flags: 0x00 }), 'malformed'); // no I flag
    send(vx({ vni: 0x123457 }), 'unknown_vni');
    send(vx({ udpLength: 16 + 13 }), 'malformed'); // inner frame shorter than an Ethernet header
    send(vx({ flags: 0xff }), 'decapsulated', inner); // reserved bits are ignored on receipt
    const withSum = vx();
    new DataView(withSum.buffer).setUint16(40, udpChecksum(withSum));
    send(withSum, 'decapsulated', inner); // a correct non-zero UDP checksum is accepted
    const wrongSum = withSum.slice();
    wrongSum[41] ^= 1;
    send(wrongSum, 'bad_checksum');

    send(gre(grePayload(inner, { flags: 0x0001 })), 'unsupported'); // version 1
    send(gre(grePayload(inner, { flags: 0x4000 })), 'unsupported'); // routing present
    send(gre(grePayload(inner, { protocol: 0x86dd })), 'unsupported');
    const c = grePayload(inner, { flags: 0x8000, words: [0] });
    new DataView(c.buffer).setUint16(4, checksumOf(c, 0, c.length)); // over the GRE header and payload
    send(gre(c), 'decapsulated', inner); // checksum present and right
    const cBad = c.slice();
    cBad[cBad.length - 1] ^= 1;
    send(gre(cBad), 'bad_checksum');
    send(gre(grePayload(inner, { flags: 0x2000, words: [8] })), 'unknown_gre_key');
    send(gre(grePayload(inner, { flags: 0x2000, words: [7] })), 'decapsulated', inner);
    send(gre(grePayload(inner, { flags: 0x1000, words: [12345] })), 'decapsulated', inner); // sequence number skipped
    send(gre(new Uint8Array([0, 0])), 'malformed'); // truncated GRE header
    send(gre(new Uint8Array([0x20, 0, 0x65, 0x58, 0, 0])), 'malformed'); // key flag without room for the key
    send(gre(grePayload(ip.subarray(0, 12), { protocol: 0x0800 })), 'malformed'); // inner IPv4 too short

    const ipip = (payload: Uint8Array) => ipv4Frame({ src: A_IP, dst: B_IP, proto: 4, payload });
    send(ipip(ip.subarray(0, 10)), 'malformed');
    const v6 = ip.slice();
    v6[0] = 0x65;
    send(ipip(v6), 'malformed');
    const trailing = new Uint8Array(ip.length + 9);
    trailing.set(ip);
    send(ipip(trailing), 'decapsulated', inner); // bytes beyond the inner total length are not delivered

    for (const f of sent) tb.send(WAN, f);
    tb.run();
    const out = tb.received(LAN);
    expect(out.map((f) => Array.from(f))).toEqual(delivered.map((f) => Array.from(f)));
    const counters = nf.counters();
    for (const [k, v] of Object.entries(expected)) expect([k, counters[k]]).toEqual([k, v]);
    const dropped = sent.length - delivered.length;
    expect(tb.stats().forwarders[WAN]!.droppedPackets).toBe(dropped);
    expect(tb.violations).toEqual([]);
  });

  it('passes non-tunnel WAN traffic unchanged when configured, still dropping invalid tunnel traffic', () => {
    const { tb, nf } = setUp(model, { ...B_CONFIG, passNonTunnel: true });
    const arp = arpFrame();
    const other = udpFrame({ dst: '10.0.0.3', size: 70 });
    const bad = ipv4Frame({ src: A_IP, dst: B_IP, proto: 17, payload: vxlanPayload(udpFrame({ dst: '10.0.0.3' }), { vni: 1 }) });
    tb.send(WAN, arp);
    tb.send(WAN, other);
    tb.send(WAN, bad);
    tb.run();
    expect(tb.received(LAN).map((f) => Array.from(f))).toEqual([Array.from(arp), Array.from(other)]);
    expect(nf.counters()).toMatchObject({ passed_non_tunnel: 2, non_tunnel: 0, unknown_vni: 1 });
    expect(tb.violations).toEqual([]);
  });

  it('sends each entry to its own WAN port and decapsulates from every WAN port (three ports)', () => {
    const cfg = {
      localIp: A_IP,
      vnis: [1],
      fib: [
        { key: '10.9.0.1', encap: 'vxlan', vni: 1, dstIp: B_IP, srcMac: mac(OWN_MAC), dstMac: mac(NEXT_HOP) },
        { key: '10.9.0.2', encap: 'vxlan', vni: 1, dstIp: B_IP, srcMac: mac(OWN_MAC), dstMac: mac(NEXT_HOP), output: 2 },
      ],
    };
    const { tb } = setUp(model, cfg, 3);
    tb.send(LAN, udpFrame({ dst: '10.9.0.1' }));
    tb.send(LAN, udpFrame({ dst: '10.9.0.2' }));
    tb.run();
    const p1 = tb.received(1);
    const p2 = tb.received(2);
    expect(p1.length).toBe(1);
    expect(p2.length).toBe(1);
    expect(u32(p1[0], 50 + 30)).toBe(ipv4('10.9.0.1'));
    expect(u32(p2[0], 50 + 30)).toBe(ipv4('10.9.0.2'));
    const inner = udpFrame({ dst: '10.0.0.1' });
    tb.send(2, ipv4Frame({ src: B_IP, dst: A_IP, proto: 17, payload: vxlanPayload(inner, { vni: 1 }) }));
    tb.run();
    expect(tb.received(LAN).map((f) => Array.from(f))).toEqual([Array.from(inner)]);
    expect(tb.violations).toEqual([]);
  });
});

/** Both directions on one NF: entries for 10.0.0.1..4 (one per encapsulation), decapsulation at B_IP. */
const PROPERTY_CONFIG = {
  localIp: B_IP,
  vnis: [0x123456],
  greKeys: [7],
  fib: ['vxlan', 'gre', 'gretap', 'ipip'].map((encap, i) => ({
    key: `10.0.0.${i + 1}`,
    encap,
    ...(encap === 'vxlan' ? { vni: 0x123456 } : encap === 'gretap' ? { greKey: 7 } : {}),
    dstIp: A_IP,
    srcMac: mac(OWN_MAC),
    dstMac: mac(NEXT_HOP),
  })),
};
const LAN_COUNTERS = ['encapsulated', 'fib_miss', 'key_out_of_frame', 'inner_not_ipv4', 'oversize'];
const WAN_COUNTERS = ['decapsulated', 'non_tunnel', 'passed_non_tunnel', 'malformed', 'bad_checksum', 'fragment', 'unknown_vni', 'unknown_gre_key', 'unsupported'];

/** LAN: valid or mutated/truncated UDP frames (some to FIB keys). WAN: tunnel frames to B_IP of each kind, mutated or truncated. */
const lanFrame = fc
  .record({ dst: fc.integer({ min: 1, max: 6 }), size: fc.integer({ min: 60, max: 1514 }), at: fc.integer({ min: 0, max: 59 }), value: fc.integer({ min: 0, max: 255 }), mutate: fc.boolean(), cut: fc.integer({ min: 1, max: 1514 }) })
  .map((r) => {
    const f = udpFrame({ dst: `10.0.0.${r.dst}`, size: r.size });
    if (r.mutate) f[r.at] = r.value;
    return padded(r.cut < f.length ? f.slice(0, r.cut) : f);
  });
const wanFrame = fc
  .record({ kind: fc.integer({ min: 0, max: 3 }), size: fc.integer({ min: 60, max: 1400 }), at: fc.integer({ min: 0, max: 80 }), value: fc.integer({ min: 0, max: 255 }), mutate: fc.boolean(), cut: fc.integer({ min: 1, max: 1514 }) })
  .map((r) => {
    const inner = udpFrame({ dst: '10.0.0.9', size: r.size });
    const payload =
      r.kind === 0 ? vxlanPayload(inner) : r.kind === 1 ? grePayload(inner, { flags: 0x2000, words: [7] }) : r.kind === 2 ? grePayload(inner.subarray(14), { protocol: 0x0800 }) : inner.subarray(14);
    const f = ipv4Frame({ src: A_IP, dst: B_IP, proto: [17, 47, 47, 4][r.kind], payload });
    if (r.mutate) f[r.at] = r.value;
    return padded(r.cut < f.length ? f.slice(0, r.cut) : f);
  });

describe.each(['restricted', 'flexible'] as const)('tunnel on random and mutated frames (%s model)', (model) => {
  it('never throws, counts every packet exactly once, and sends only well-formed outer headers', () => {
    const { tb, nf } = setUp(model, PROPERTY_CONFIG);
    let lanSent = 0;
    let wanSent = 0;
    fc.assert(
      fc.property(fc.array(fc.oneof(lanFrame.map((f) => [LAN, f] as const), wanFrame.map((f) => [WAN, f] as const)), { minLength: 1, maxLength: 30 }), (batch) => {
        for (const [port, f] of batch) {
          tb.send(port, f);
          if (port === LAN) lanSent++;
          else wanSent++;
        }
        tb.run();
        for (const o of tb.received(WAN)) {
          expect(u16(o, 12)).toBe(0x0800);
          expect(checksumOf(o, 14, 34)).toBe(0);
          expect(u16(o, 16)).toBe(o.length - 14);
          expect(u16(o, 16)).toBeLessThanOrEqual(1500);
          expect([17, 47, 4]).toContain(o[23]);
          if (o[23] === 17) {
            expect(u16(o, 36)).toBe(4789);
            expect(u16(o, 34)).toBeGreaterThanOrEqual(49152);
            expect(u16(o, 38)).toBe(o.length - 34);
          }
        }
        for (const o of tb.received(LAN)) expect(o.length).toBeLessThanOrEqual(1514);
        expect(tb.violations).toEqual([]);
      }),
      { numRuns: 30, seed: 0x70e1 },
    );
    const c = nf.counters();
    const sum = (names: string[]) => names.reduce((s, k) => s + c[k], 0);
    const stats = tb.stats();
    expect(sum(LAN_COUNTERS)).toBe(lanSent);
    expect(sum(WAN_COUNTERS)).toBe(wanSent);
    expect(stats.forwarders[LAN]!.rxPackets).toBe(lanSent);
    expect(stats.forwarders[WAN]!.rxPackets).toBe(wanSent);
    expect(stats.forwarders[LAN]!.droppedPackets).toBe(lanSent - c.encapsulated);
    expect(stats.forwarders[WAN]!.droppedPackets).toBe(wanSent - c.decapsulated - c.passed_non_tunnel);
    expect(c.encapsulated).toBeGreaterThan(10);
    expect(c.decapsulated).toBeGreaterThan(10);
  });
});

describe('tunnel configuration', () => {
  const def = nfDefinition('tunnel');
  const entry = { key: '10.0.0.1', encap: 'vxlan', vni: 1, dstIp: B_IP, srcMac: mac(OWN_MAC), dstMac: mac(NEXT_HOP) };
  const bad = (config: unknown, message: RegExp) => {
    expect(() => def.parseConfig(config)).toThrow(TinyNfError);
    expect(() => def.parseConfig(config)).toThrow(message);
  };

  it('has working defaults and derives the accepted VNIs and GRE keys from the FIB', () => {
    const c = def.parseConfig(undefined);
    expect(c).toMatchObject({ keyOffset: 30, keyLength: 4, mtu: 1500, vnis: [42], greKeys: [] });
    const d = def.parseConfig({ fib: [entry, { ...entry, key: '10.0.0.2', encap: 'gre', vni: undefined, greKey: 9 }] });
    expect(d).toMatchObject({ vnis: [1], greKeys: [9] });
  });

  it('rejects bad values with one clear error each', () => {
    bad({ localIp: '10.0.0.256' }, /localIp must be a dotted IPv4 address/);
    bad({ innerDstMac: '02:00:00:00:00' }, /innerDstMac must be a MAC address/);
    bad({ keyOffset: 1512, keyLength: 4 }, /keyOffset \+ keyLength/);
    bad({ keyLength: 17 }, /keyLength: must be an integer 1\.\.16/);
    bad({ keyOffset: -1 }, /keyOffset/);
    bad({ mtu: 3000 }, /mtu: must be an integer 68\.\.2034/);
    bad({ fib: [{ ...entry, encap: 'mpls' }] }, /fib\[0\]\.encap must be one of vxlan, gre, gretap, ipip/);
    bad({ fib: [{ ...entry, dstIp: 'x' }] }, /fib\[0\]\.dstIp must be a dotted IPv4/);
    bad({ fib: [{ ...entry, dstMac: '02:00:00:00:00:0g' }] }, /fib\[0\]\.dstMac must be a MAC/);
    bad({ fib: [{ ...entry, key: '02:00:00:00:00:01' }] }, /has 6 bytes, keyLength is 4/);
    bad({ fib: [{ ...entry, key: 'zz' }] }, /is not dotted IPv4/);
    bad({ fib: [entry, { ...entry, key: '0x0a000001' }] }, /appears twice/);
    bad({ fib: [{ ...entry, vni: undefined }] }, /needs a vni/);
    bad({ fib: [{ ...entry, vni: 1 << 24 }] }, /vni must be a whole number 0\.\.16777215/);
    bad({ fib: [{ ...entry, greKey: 1 }] }, /greKey is only for gre and gretap/);
    bad({ fib: [{ ...entry, ttl: 0 }] }, /ttl/);
    bad({ fib: [{ ...entry, nexthop: 1 }] }, /unknown field 'fib\[0\]\.nexthop'/);
    bad({ capacity: 1, fib: [entry, { ...entry, key: '10.0.0.2' }] }, /exceed capacity 1/);
    bad({ frobnicate: 1 }, /unknown field 'frobnicate'/);
    bad([], /not an object/);
    const threePortEntry = def.parseConfig({ fib: [{ ...entry, output: 2 }] });
    expect(() => def.create(threePortEntry, { clock: { nowNs: () => 0 }, ports: 2 })).toThrow(/output must be a WAN port 1\.\.1/);
  });
});
