// Frame builders for tests, tools and NF setup code (not for the per-packet path: they allocate; answer.ts rewrites a
// received frame in place instead). Layers are listed outside in; build() fills every length, next-protocol field
// and checksum from the layers that follow, so a test states only what it cares about:
//
//   frame().eth({ src: '02:00:00:00:00:01', dst: '02:00:00:00:00:02' }).ipv4({ src: '10.0.0.1', dst: '10.0.0.2' })
//     .udp({ sport: 1234, dport: 80 }).payload(18).build()
//
// Tunnels nest: .eth().ipv4().udp().vxlan({ vni: 7 }).eth().ipv4().tcp()... Checksums are computed innermost first,
// so an outer UDP checksum covers the finished inner frame. Explicit values (e.g. `checksum: 0x1234`, `length: 3`)
// override the computed ones, for malformed-input tests.
import { parseIpv4, parseIpv6, parseMac } from './address';
import { ipv4HeaderChecksum, ipv4TransportChecksum, ipv6TransportChecksum, internetChecksum, udpChecksumField } from './checksum';
import { ETHERTYPE_ARP, ETHERTYPE_IPV4, ETHERTYPE_IPV6, ETHERTYPE_TEB, ETHERTYPE_VLAN } from './ethernet';
import { IP_PROTO_FRAGMENT, IP_PROTO_GRE, IP_PROTO_ICMP, IP_PROTO_ICMPV6, IP_PROTO_IPIP, IP_PROTO_IPV6, IP_PROTO_NONE, IP_PROTO_TCP, IP_PROTO_UDP } from './ipv4';
import { GENEVE_PORT, GRE_FLAG_C, GRE_FLAG_K, GRE_FLAG_S, VXLAN_FLAG_I, VXLAN_PORT } from './overlay';

export type Ipv4Text = string | number;
export interface EthOptions { src?: string; dst?: string; type?: number }
export interface VlanOptions { id: number; pcp?: number; dei?: boolean; /** TPID of this tag (default 0x8100; 0x88a8 for an S-tag). */ tpid?: number }
export interface ArpOptions { op?: 'request' | 'reply' | number; senderMac: string; senderIp: Ipv4Text; targetMac?: string; targetIp: Ipv4Text }
export interface Ipv4Options {
  src: Ipv4Text; dst: Ipv4Text; ttl?: number; tos?: number; id?: number; df?: boolean; mf?: boolean;
  /** Fragment offset in 8-byte units. */ fragmentOffset?: number; protocol?: number;
  /** Option bytes (padded with EOL to a multiple of 4). */ options?: ArrayLike<number>;
  /** Override the computed fields (malformed-input tests); `flagsFragment` is the whole flags + offset word. */
  totalLength?: number; ihl?: number; checksum?: number; version?: number; flagsFragment?: number;
}
export interface Ipv6Extension {
  /** Next Header value naming this header: 0 hop-by-hop, 43 routing, 44 fragment, 60 destination options. */
  type: number;
  /** Header length in bytes (multiple of 8, default 8; fragment headers are always 8). */
  length?: number;
  /** Fragment header: offset in 8-byte units and the M flag. */
  fragmentOffset?: number; more?: boolean; identification?: number;
}
export interface Ipv6Options { src: string; dst: string; hopLimit?: number; trafficClass?: number; flowLabel?: number; nextHeader?: number; extensions?: Ipv6Extension[]; payloadLength?: number }
export interface UdpOptions { sport?: number; dport?: number; length?: number; checksum?: number; /** leave the checksum 0 (IPv4 only) */ noChecksum?: boolean }
export interface TcpOptions { sport?: number; dport?: number; seq?: number; ack?: number; flags?: number; window?: number; urgent?: number; /** option bytes, padded with EOL to a multiple of 4 */ options?: ArrayLike<number>; dataOffset?: number; checksum?: number }
export interface IcmpOptions { type?: number; code?: number; id?: number; seq?: number; /** the 4 bytes after the checksum, instead of id/seq */ rest?: number; checksum?: number }
export interface VxlanOptions { vni: number }
export interface GreOptions { protocol?: number; key?: number; sequence?: number; checksum?: boolean }
export interface GeneveOptions { vni: number; protocol?: number; options?: ArrayLike<number> }

type Layer =
  | { kind: 'eth'; o: EthOptions }
  | { kind: 'vlan'; o: VlanOptions }
  | { kind: 'arp'; o: ArpOptions }
  | { kind: 'ipv4'; o: Ipv4Options }
  | { kind: 'ipv6'; o: Ipv6Options }
  | { kind: 'udp'; o: UdpOptions }
  | { kind: 'tcp'; o: TcpOptions }
  | { kind: 'icmp'; o: IcmpOptions }
  | { kind: 'icmpv6'; o: IcmpOptions }
  | { kind: 'vxlan'; o: VxlanOptions }
  | { kind: 'gre'; o: GreOptions }
  | { kind: 'geneve'; o: GeneveOptions }
  | { kind: 'raw'; o: { bytes: Uint8Array } };

function ip4(v: Ipv4Text, what: string): number {
  if (typeof v === 'number') return v >>> 0;
  const a = parseIpv4(v);
  if (a === null) throw new Error(`frame builder: ${what} '${v}' is not an IPv4 address`);
  return a;
}
function ip6(v: string, what: string): Uint8Array {
  const a = parseIpv6(v);
  if (a === null) throw new Error(`frame builder: ${what} '${v}' is not an IPv6 address`);
  return a;
}
function mac(v: string | undefined, fallback: string): Uint8Array {
  const m = parseMac(v ?? fallback);
  if (m === null) throw new Error(`frame builder: '${v}' is not a MAC address`);
  return m;
}
function padded4(bytes: ArrayLike<number> | undefined): number {
  return bytes === undefined ? 0 : (bytes.length + 3) & ~3;
}

/** Builds one frame; see the top of this file. Every method returns the builder. */
export class FrameBuilder {
  private readonly layers: Layer[] = [];
  private data: Uint8Array = new Uint8Array(0);
  private padding = 0;
  private frameSize = -1;

  eth(o: EthOptions = {}): this { return this.push({ kind: 'eth', o }); }
  vlan(o: VlanOptions | number): this { return this.push({ kind: 'vlan', o: typeof o === 'number' ? { id: o } : o }); }
  arp(o: ArpOptions): this { return this.push({ kind: 'arp', o }); }
  ipv4(o: Ipv4Options): this { return this.push({ kind: 'ipv4', o }); }
  ipv6(o: Ipv6Options): this { return this.push({ kind: 'ipv6', o }); }
  udp(o: UdpOptions = {}): this { return this.push({ kind: 'udp', o }); }
  tcp(o: TcpOptions = {}): this { return this.push({ kind: 'tcp', o }); }
  icmp(o: IcmpOptions = {}): this { return this.push({ kind: 'icmp', o }); }
  icmpv6(o: IcmpOptions = {}): this { return this.push({ kind: 'icmpv6', o }); }
  vxlan(o: VxlanOptions): this { return this.push({ kind: 'vxlan', o }); }
  gre(o: GreOptions = {}): this { return this.push({ kind: 'gre', o }); }
  geneve(o: GeneveOptions): this { return this.push({ kind: 'geneve', o }); }
  /** Arbitrary header bytes (e.g. an unknown protocol), counted as part of the enclosing payload. */
  raw(bytes: ArrayLike<number>): this { return this.push({ kind: 'raw', o: { bytes: Uint8Array.from(bytes) } }); }
  /** The innermost payload: these bytes, or `n` bytes of a position pattern. */
  payload(p: ArrayLike<number> | number): this {
    this.data = typeof p === 'number' ? pattern(p) : Uint8Array.from(p);
    return this;
  }
  /** Grow the payload (pattern bytes) so that the frame has exactly `n` bytes (lengths then cover them). */
  size(n: number): this {
    this.frameSize = n;
    return this;
  }
  /** Ethernet padding after the packet up to `n` bytes (not counted in IP/UDP lengths); 60 is the wire minimum. */
  padTo(n: number): this {
    this.padding = n;
    return this;
  }

  private push(l: Layer): this {
    this.layers.push(l);
    return this;
  }

  build(): Uint8Array {
    const ls = this.layers;
    const lens = ls.map((l) => headerLength(l));
    const headers = lens.reduce((a, b) => a + b, 0);
    let data = this.data;
    if (this.frameSize >= 0) {
      if (this.frameSize < headers) throw new Error(`frame builder: size ${this.frameSize} is below the ${headers} bytes of headers`);
      if (headers + data.length < this.frameSize) {
        const grown = pattern(this.frameSize - headers);
        grown.set(data);
        data = grown;
      }
    }
    const end = headers + data.length;
    const f = new Uint8Array(Math.max(end, this.padding));
    const v = new DataView(f.buffer);
    const starts: number[] = [];
    let at = 0;
    for (const n of lens) {
      starts.push(at);
      at += n;
    }
    f.set(data, headers);
    for (let i = 0; i < ls.length; i++) writeHeader(ls[i], ls[i + 1], f, v, starts[i], lens[i], end);
    // checksums, innermost first (an outer checksum covers the inner headers)
    for (let i = ls.length - 1; i >= 0; i--) writeChecksum(ls, i, f, v, starts, end);
    return f;
  }
}

/** A new frame builder. */
export function frame(): FrameBuilder {
  return new FrameBuilder();
}

/** Payload bytes that differ per position (so a test notices shifted or corrupted bytes). */
export function pattern(n: number, seed = 0): Uint8Array {
  const p = new Uint8Array(n);
  for (let i = 0; i < n; i++) p[i] = (i * 31 + seed * 7 + 3) & 0xff;
  return p;
}

function headerLength(l: Layer): number {
  switch (l.kind) {
    case 'eth': return 14;
    case 'vlan': return 4;
    case 'arp': return 28;
    case 'ipv4': return 20 + padded4(l.o.options);
    case 'ipv6': return 40 + (l.o.extensions ?? []).reduce((a, e) => a + (e.type === IP_PROTO_FRAGMENT ? 8 : e.length ?? 8), 0);
    case 'udp': return 8;
    case 'tcp': return 20 + padded4(l.o.options);
    case 'icmp': case 'icmpv6': return 8;
    case 'vxlan': return 8;
    case 'gre': return 4 + (l.o.checksum === true ? 4 : 0) + (l.o.key !== undefined ? 4 : 0) + (l.o.sequence !== undefined ? 4 : 0);
    case 'geneve': return 8 + padded4(l.o.options);
    case 'raw': return l.o.bytes.length;
  }
}

/** The EtherType naming layer `next` (for Ethernet, VLAN tags, GRE, Geneve). */
function etherTypeOf(next: Layer | undefined, fallback: number): number {
  if (next === undefined) return fallback;
  switch (next.kind) {
    case 'vlan': return next.o.tpid ?? ETHERTYPE_VLAN;
    case 'arp': return ETHERTYPE_ARP;
    case 'ipv4': return ETHERTYPE_IPV4;
    case 'ipv6': return ETHERTYPE_IPV6;
    case 'eth': return ETHERTYPE_TEB;
    default: return fallback;
  }
}

/** The IP protocol number naming layer `next`. */
function protocolOf(next: Layer | undefined): number {
  if (next === undefined) return IP_PROTO_NONE;
  switch (next.kind) {
    case 'udp': return IP_PROTO_UDP;
    case 'tcp': return IP_PROTO_TCP;
    case 'icmp': return IP_PROTO_ICMP;
    case 'icmpv6': return IP_PROTO_ICMPV6;
    case 'gre': return IP_PROTO_GRE;
    case 'ipv4': return IP_PROTO_IPIP;
    case 'ipv6': return IP_PROTO_IPV6;
    default: return 253; // RFC 3692 experimental: a raw layer
  }
}

function writeHeader(l: Layer, next: Layer | undefined, f: Uint8Array, v: DataView, at: number, len: number, end: number): void {
  switch (l.kind) {
    case 'eth':
      f.set(mac(l.o.dst, '02:00:00:00:00:02'), at);
      f.set(mac(l.o.src, '02:00:00:00:00:01'), at + 6);
      v.setUint16(at + 12, l.o.type ?? etherTypeOf(next, 0x88b5));
      return;
    case 'vlan': {
      // The tag's TPID is the EtherType field of the layer before; this layer's 4 bytes are the TCI and the next EtherType.
      v.setUint16(at, ((l.o.pcp ?? 0) << 13) | (l.o.dei === true ? 0x1000 : 0) | (l.o.id & 0x0fff));
      v.setUint16(at + 2, etherTypeOf(next, 0x88b5));
      return;
    }
    case 'arp': {
      const op = l.o.op === undefined || l.o.op === 'request' ? 1 : l.o.op === 'reply' ? 2 : l.o.op;
      v.setUint16(at, 1);
      v.setUint16(at + 2, ETHERTYPE_IPV4);
      f[at + 4] = 6;
      f[at + 5] = 4;
      v.setUint16(at + 6, op);
      f.set(mac(l.o.senderMac, ''), at + 8);
      v.setUint32(at + 14, ip4(l.o.senderIp, 'ARP sender'));
      f.set(mac(l.o.targetMac, '00:00:00:00:00:00'), at + 18);
      v.setUint32(at + 24, ip4(l.o.targetIp, 'ARP target'));
      return;
    }
    case 'ipv4': {
      const o = l.o;
      f[at] = ((o.version ?? 4) << 4) | ((o.ihl ?? len / 4) & 0x0f);
      f[at + 1] = o.tos ?? 0;
      v.setUint16(at + 2, o.totalLength ?? end - at);
      v.setUint16(at + 4, o.id ?? 0);
      v.setUint16(at + 6, o.flagsFragment ?? ((o.df === true ? 0x4000 : 0) | (o.mf === true ? 0x2000 : 0) | ((o.fragmentOffset ?? 0) & 0x1fff)));
      f[at + 8] = o.ttl ?? 64;
      f[at + 9] = o.protocol ?? protocolOf(next);
      v.setUint32(at + 12, ip4(o.src, 'IPv4 source'));
      v.setUint32(at + 16, ip4(o.dst, 'IPv4 destination'));
      if (o.options !== undefined) f.set(o.options, at + 20); // the rest stays 0 = EOL
      return;
    }
    case 'ipv6': {
      const o = l.o;
      v.setUint32(at, (6 << 28) | ((o.trafficClass ?? 0) << 20) | ((o.flowLabel ?? 0) & 0xfffff));
      v.setUint16(at + 4, o.payloadLength ?? end - at - 40);
      f[at + 7] = o.hopLimit ?? 64;
      f.set(ip6(o.src, 'IPv6 source'), at + 8);
      f.set(ip6(o.dst, 'IPv6 destination'), at + 24);
      const ext = o.extensions ?? [];
      const upper = o.nextHeader ?? protocolOf(next);
      f[at + 6] = ext.length > 0 ? ext[0].type : upper;
      let e = at + 40;
      for (let i = 0; i < ext.length; i++) {
        const x = ext[i];
        const n = x.type === IP_PROTO_FRAGMENT ? 8 : x.length ?? 8;
        if (n % 8 !== 0 || n < 8) throw new Error(`frame builder: IPv6 extension header length ${n} is not a positive multiple of 8`);
        f[e] = i + 1 < ext.length ? ext[i + 1].type : upper;
        if (x.type === IP_PROTO_FRAGMENT) {
          v.setUint16(e + 2, ((x.fragmentOffset ?? 0) << 3) | (x.more === true ? 1 : 0));
          v.setUint32(e + 4, x.identification ?? 0);
        } else {
          f[e + 1] = n / 8 - 1;
          if (n - 2 >= 2) { f[e + 2] = 1; f[e + 3] = n - 4; } // one PadN option filling the header (RFC 8200 Section 4.2)
        }
        e += n;
      }
      return;
    }
    case 'udp':
      v.setUint16(at, l.o.sport ?? 1234);
      v.setUint16(at + 2, l.o.dport ?? (next?.kind === 'vxlan' ? VXLAN_PORT : next?.kind === 'geneve' ? GENEVE_PORT : 80));
      v.setUint16(at + 4, l.o.length ?? end - at);
      return;
    case 'tcp': {
      const o = l.o;
      v.setUint16(at, o.sport ?? 1234);
      v.setUint16(at + 2, o.dport ?? 80);
      v.setUint32(at + 4, o.seq ?? 1);
      v.setUint32(at + 8, o.ack ?? 0);
      f[at + 12] = (o.dataOffset ?? len / 4) << 4;
      f[at + 13] = o.flags ?? 0x18;
      v.setUint16(at + 14, o.window ?? 64240);
      v.setUint16(at + 18, o.urgent ?? 0);
      if (o.options !== undefined) f.set(o.options, at + 20);
      return;
    }
    case 'icmp':
    case 'icmpv6': {
      const o = l.o;
      f[at] = o.type ?? (l.kind === 'icmp' ? 8 : 128);
      f[at + 1] = o.code ?? 0;
      if (o.rest !== undefined) v.setUint32(at + 4, o.rest);
      else {
        v.setUint16(at + 4, o.id ?? 0);
        v.setUint16(at + 6, o.seq ?? 0);
      }
      return;
    }
    case 'vxlan':
      f[at] = VXLAN_FLAG_I;
      v.setUint32(at + 4, (l.o.vni << 8) >>> 0);
      return;
    case 'gre': {
      const o = l.o;
      v.setUint16(at, (o.checksum === true ? GRE_FLAG_C : 0) | (o.key !== undefined ? GRE_FLAG_K : 0) | (o.sequence !== undefined ? GRE_FLAG_S : 0));
      v.setUint16(at + 2, o.protocol ?? etherTypeOf(next, ETHERTYPE_IPV4));
      let x = at + 4 + (o.checksum === true ? 4 : 0);
      if (o.key !== undefined) { v.setUint32(x, o.key >>> 0); x += 4; }
      if (o.sequence !== undefined) v.setUint32(x, o.sequence >>> 0);
      return;
    }
    case 'geneve':
      f[at] = padded4(l.o.options) / 4;
      v.setUint16(at + 2, l.o.protocol ?? etherTypeOf(next, ETHERTYPE_TEB));
      v.setUint32(at + 4, (l.o.vni << 8) >>> 0);
      if (l.o.options !== undefined) f.set(l.o.options, at + 8);
      return;
    case 'raw':
      f.set(l.o.bytes, at);
      return;
  }
}

/** The IP layer enclosing layer i (for pseudo-headers), or -1. */
function enclosingIp(ls: Layer[], i: number): number {
  for (let j = i - 1; j >= 0; j--) if (ls[j].kind === 'ipv4' || ls[j].kind === 'ipv6') return j;
  return -1;
}

function writeChecksum(ls: Layer[], i: number, f: Uint8Array, v: DataView, starts: number[], end: number): void {
  const l = ls[i];
  const at = starts[i];
  const ipIndex = enclosingIp(ls, i);
  const ip = ipIndex >= 0 ? starts[ipIndex] : -1;
  const v6 = ipIndex >= 0 && ls[ipIndex].kind === 'ipv6';
  // A transport segment ends where its IP packet says (an explicit, wrong total length is a test's business).
  switch (l.kind) {
    case 'ipv4': {
      const ihl = (f[at] & 0x0f) * 4;
      v.setUint16(at + 10, l.o.checksum ?? ipv4HeaderChecksum(f, at, Math.min(ihl, end - at)));
      return;
    }
    case 'udp': {
      if (l.o.noChecksum === true) return;
      let c: number;
      if (l.o.checksum !== undefined) c = l.o.checksum;
      else if (ip < 0) c = 0;
      else c = udpChecksumField(v6 ? ipv6TransportChecksum(f, ip, IP_PROTO_UDP, at, end, 6) : ipv4TransportChecksum(f, ip, at, end, 6));
      v.setUint16(at + 6, c);
      return;
    }
    case 'tcp':
      v.setUint16(at + 16, l.o.checksum ?? (ip < 0 ? 0 : v6 ? ipv6TransportChecksum(f, ip, IP_PROTO_TCP, at, end, 16) : ipv4TransportChecksum(f, ip, at, end, 16)));
      return;
    case 'icmp':
      v.setUint16(at + 2, l.o.checksum ?? internetChecksum(f, at, end - at));
      return;
    case 'icmpv6':
      v.setUint16(at + 2, l.o.checksum ?? (ip < 0 ? 0 : ipv6TransportChecksum(f, ip, IP_PROTO_ICMPV6, at, end, 2)));
      return;
    case 'gre':
      if (l.o.checksum === true) v.setUint16(at + 4, internetChecksum(f, at, end - at));
      return;
    default:
      return;
  }
}
