// A frame decoded layer by layer into a plain object (for `tinynf decode`, tests and tools; it allocates, so not for
// the per-packet path, where classify() and the header views are). The same header views as the NFs' do the reading,
// so `tinynf decode` compared with tshark is the library's acceptance test.
//
// Unlike classify(), which refuses a malformed frame outright, decodeFrame() goes on as far as headers are present:
// a frame cut short by the capture's snap length (captured < length) is not malformed, its layers are decoded from
// the bytes there are; a length field that disagrees with the frame is reported as `malformed` (the first problem
// found) and decoding goes on with what the capture holds, as tshark does.
import { formatIpv4, formatIpv6, formatMac } from './address';
import { ARP_LENGTH } from './arp';
import { ipv4HeaderChecksum } from './checksum';
import { ETHERTYPE_ARP, ETHERTYPE_IPV4, ETHERTYPE_IPV6, ETHERTYPE_TEB, ETH_HEADER, MAX_VLAN_TAGS, isVlanTpid } from './ethernet';
import { isIcmpError, isIcmpv6Error } from './icmp';
import { IP_PROTO_GRE, IP_PROTO_ICMP, IP_PROTO_ICMPV6, IP_PROTO_IPIP, IP_PROTO_IPV6, IP_PROTO_SCTP, IP_PROTO_TCP, IP_PROTO_UDP, ipv4OptionsCheck } from './ipv4';
import { IPV6_HEADER, Ipv6Walk, ipv6Walk } from './ipv6';
import * as M from './malformed';
import { GENEVE_PORT, L2TP_FLAG_T, L2TP_PORT, VXLAN_PORT, geneveCheck, greCheck, greKey, l2tpCheck, l2tpSessionId, l2tpTunnelId, vxlanCheck } from './overlay';
import { tcpMss, tcpOptionsCheck, tcpWindowScale } from './transport';

/** PPPoE session stage (RFC 2516 Section 4: EtherType 0x8864, 6-byte header, then the 2-byte PPP protocol). */
export const ETHERTYPE_PPPOE_SESSION = 0x8864;
const PPP_IPV4 = 0x0021;
const PPP_IPV6 = 0x0057;

export interface DecodedMalformed { name: string; reason: string; layer: string }
export interface DecodedEthernet { src: string; dst: string; type: number }
export interface DecodedVlan { tpid: number; id: number; pcp: number }
export interface DecodedArp { operation: number; senderMac: string; senderIp: string; targetMac: string; targetIp: string }
export interface DecodedIpv4 { src: string; dst: string; protocol: number; ttl: number; headerLength: number; totalLength: number; id: number; df: boolean; mf: boolean; fragmentOffset: number; checksumValid: boolean }
export interface DecodedIpv6 { src: string; dst: string; nextHeader: number; payloadLength: number; hopLimit: number; extensions: number[]; protocol: number; fragment: boolean }
/** `flags`: the 12 bits after the data offset (reserved, AE, CWR, ECE, URG, ACK, PSH, RST, SYN, FIN), as tshark's tcp.flags. */
export interface DecodedTcp { srcPort: number; dstPort: number; headerLength: number; flags: number; seq: number; ack: number; window: number; payloadLength: number; mss?: number; windowScale?: number }
export interface DecodedUdp { srcPort: number; dstPort: number; length: number }
export interface DecodedPorts { srcPort: number; dstPort: number }
export interface DecodedIcmp { type: number; code: number }

/** The network and transport layers of a packet (also the quoted packet of an ICMP error). */
export interface DecodedPacket {
  ipv4?: DecodedIpv4;
  ipv6?: DecodedIpv6;
  tcp?: DecodedTcp;
  udp?: DecodedUdp;
  sctp?: DecodedPorts;
  icmp?: DecodedIcmp;
  icmpv6?: DecodedIcmp;
  /** ICMP/ICMPv6 error: the start of the offending packet it carries. */
  quoted?: DecodedPacket;
  vxlan?: { vni: number };
  gre?: { protocol: number; key?: number };
  geneve?: { vni: number; protocol: number };
  /** L2TPv2 (UDP port 1701): tunnel and session IDs; a data message's PPP payload is `inner`. */
  l2tp?: { tunnel: number; session: number; control: boolean };
  /** What a tunnel (VXLAN, GRE, Geneve, IP in IP) carries. */
  inner?: DecodedFrame;
}

export interface DecodedFrame extends DecodedPacket {
  /** Layer names outside in, e.g. ["eth", "vlan", "ipv4", "udp"] (an inner frame has its own list). */
  layers: string[];
  eth?: DecodedEthernet;
  vlan?: DecodedVlan[];
  pppoe?: { session: number; protocol: number };
  arp?: DecodedArp;
  /** The first malformed header found (decoding goes on where the capture allows). */
  malformed?: DecodedMalformed;
  /** The layer whose header the capture's snap length cut (not malformed: the frame on the wire had it whole). */
  cut?: string;
}

class Cursor {
  constructor(
    readonly d: DataView,
    readonly bytes: Uint8Array,
    /** bytes present in the capture */
    readonly captured: number,
  ) {}
}

function mark(out: DecodedFrame, code: number, layer: string): void {
  if (out.malformed === undefined) out.malformed = { name: M.malformedName(code), reason: M.malformedReason(code), layer };
}

/**
 * A header that does not fit in the captured bytes: cut by the capture's snap length if it would fit in the frame
 * on the wire (`need` <= `wireEnd`: `cut` names the layer), else malformed.
 */
function short(out: DecodedFrame, code: number, layer: string, need: number, wireEnd: number): void {
  if (need <= wireEnd) out.cut ??= layer;
  else mark(out, code, layer);
}

/**
 * Decode a captured Ethernet frame (`bytes`: the captured bytes; `length`: its length on the wire, larger if the
 * capture truncated it).
 */
export function decodeFrame(bytes: Uint8Array, length = bytes.length): DecodedFrame {
  const c = new Cursor(new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), bytes, bytes.length);
  const out: DecodedFrame = { layers: [] };
  decodeEthernet(c, 0, Math.max(length, bytes.length), out);
  return out;
}

/** Ethernet and what it carries, from `at`; `wireEnd` is where the frame ends on the wire. */
function decodeEthernet(c: Cursor, at: number, wireEnd: number, out: DecodedFrame): void {
  const { d, bytes, captured } = c;
  if (at + ETH_HEADER > captured) return short(out, M.TRUNCATED_ETHERNET, 'eth', at + ETH_HEADER, wireEnd);
  let type = d.getUint16(at + 12);
  out.layers.push('eth');
  out.eth = { dst: formatMac(bytes, at), src: formatMac(bytes, at + 6), type };
  let i = at + ETH_HEADER;
  while (isVlanTpid(type)) {
    if (out.vlan !== undefined && out.vlan.length === MAX_VLAN_TAGS) return mark(out, M.TOO_MANY_VLAN_TAGS, 'vlan');
    if (i + 4 > captured) return short(out, M.TRUNCATED_VLAN, 'vlan', i + 4, wireEnd);
    const tci = d.getUint16(i);
    (out.vlan ??= []).push({ tpid: type, id: tci & 0x0fff, pcp: tci >>> 13 });
    out.layers.push('vlan');
    type = d.getUint16(i + 2);
    i += 4;
  }
  if (type === ETHERTYPE_PPPOE_SESSION && i + 8 <= captured) {
    const protocol = d.getUint16(i + 6);
    out.pppoe = { session: d.getUint16(i + 2), protocol };
    out.layers.push('pppoe');
    const end = Math.min(wireEnd, i + 6 + d.getUint16(i + 4));
    if (protocol === PPP_IPV4) decodeIp(c, i + 8, end, out, 4);
    else if (protocol === PPP_IPV6) decodeIp(c, i + 8, end, out, 6);
    return;
  }
  if (type === ETHERTYPE_IPV4) return decodeIp(c, i, wireEnd, out, 4);
  if (type === ETHERTYPE_IPV6) return decodeIp(c, i, wireEnd, out, 6);
  if (type === ETHERTYPE_ARP) {
    if (i + ARP_LENGTH > captured) return short(out, M.TRUNCATED_ARP, 'arp', i + ARP_LENGTH, wireEnd);
    if (d.getUint16(i) !== 1 || d.getUint16(i + 2) !== ETHERTYPE_IPV4 || d.getUint8(i + 4) !== 6 || d.getUint8(i + 5) !== 4) {
      return mark(out, M.BAD_ARP, 'arp');
    }
    out.layers.push('arp');
    out.arp = {
      operation: d.getUint16(i + 6),
      senderMac: formatMac(bytes, i + 8),
      senderIp: formatIpv4(d.getUint32(i + 14)),
      targetMac: formatMac(bytes, i + 18),
      targetIp: formatIpv4(d.getUint32(i + 24)),
    };
  }
}

const walk = new Ipv6Walk();

/** An IP packet at `at` and its transport layer; `wireEnd` bounds it on the wire (frame end or a PPPoE length). */
function decodeIp(c: Cursor, at: number, wireEnd: number, out: DecodedFrame, version: 4 | 6, quoted = false): void {
  const { d, bytes, captured } = c;
  let l4: number;
  let protocol: number;
  let ipEnd: number;
  if (version === 4) {
    if (at + 20 > captured) return short(out, M.TRUNCATED_IPV4, 'ipv4', at + 20, wireEnd);
    const vihl = d.getUint8(at);
    if (vihl >>> 4 !== 4) return mark(out, M.BAD_IPV4_VERSION, 'ipv4');
    const ihl = (vihl & 0x0f) * 4;
    const total = d.getUint16(at + 2);
    const ff = d.getUint16(at + 6);
    protocol = d.getUint8(at + 9);
    out.layers.push('ipv4');
    out.ipv4 = {
      src: formatIpv4(d.getUint32(at + 12)),
      dst: formatIpv4(d.getUint32(at + 16)),
      protocol,
      ttl: d.getUint8(at + 8),
      headerLength: ihl,
      totalLength: total,
      id: d.getUint16(at + 4),
      df: (ff & 0x4000) !== 0,
      mf: (ff & 0x2000) !== 0,
      fragmentOffset: ff & 0x1fff,
      checksumValid: at + ihl <= captured && ihl >= 20 && ipv4HeaderChecksum(bytes, at, ihl) === d.getUint16(at + 10),
    };
    if (ihl < 20 || at + ihl > wireEnd) return mark(out, M.BAD_IPV4_IHL, 'ipv4');
    if (at + ihl > captured) return short(out, M.BAD_IPV4_IHL, 'ipv4', at + ihl, wireEnd);
    if (ihl > 20 && ipv4OptionsCheck(d, at) < 0) mark(out, M.BAD_IPV4_OPTIONS, 'ipv4');
    // An ICMP error quotes only the start of the packet: its length fields describe the original, not the quote.
    if (!quoted && (total < ihl || at + total > wireEnd)) mark(out, M.BAD_IPV4_TOTAL_LENGTH, 'ipv4');
    if (total < ihl) return;
    ipEnd = quoted ? wireEnd : Math.min(at + total, wireEnd);
    if ((ff & 0x1fff) !== 0) return; // a later fragment: no transport header here
    l4 = at + ihl;
  } else {
    if (at + IPV6_HEADER > captured) return short(out, M.TRUNCATED_IPV6, 'ipv6', at + IPV6_HEADER, wireEnd);
    if (d.getUint8(at) >>> 4 !== 6) return mark(out, M.BAD_IPV6_VERSION, 'ipv6');
    const plen = d.getUint16(at + 4);
    out.layers.push('ipv6');
    const v6: DecodedIpv6 = {
      src: formatIpv6(bytes, at + 8),
      dst: formatIpv6(bytes, at + 24),
      nextHeader: d.getUint8(at + 6),
      payloadLength: plen,
      hopLimit: d.getUint8(at + 7),
      extensions: [],
      protocol: d.getUint8(at + 6),
      fragment: false,
    };
    out.ipv6 = v6;
    if (!quoted && at + IPV6_HEADER + plen > wireEnd) mark(out, M.BAD_IPV6_PAYLOAD_LENGTH, 'ipv6');
    ipEnd = quoted ? wireEnd : Math.min(at + IPV6_HEADER + plen, wireEnd);
    // the extension headers within what the capture holds
    const r = ipv6Walk(d, at, walk, Math.min(ipEnd, captured));
    if (r === M.TRUNCATED_IPV6_EXTENSION && captured < ipEnd) return short(out, r, 'ipv6', ipEnd, ipEnd);
    if (r < 0) return mark(out, r, 'ipv6');
    v6.extensions = Array.from(walk.types.subarray(0, walk.extensions));
    v6.protocol = walk.protocol;
    v6.fragment = walk.fragment === 1;
    protocol = walk.protocol;
    if (walk.laterFragment === 1) return;
    l4 = r;
  }
  decodeTransport(c, l4, ipEnd, protocol, out, quoted);
}

function decodeTransport(c: Cursor, l4: number, ipEnd: number, protocol: number, out: DecodedFrame, quoted: boolean): void {
  const { d, captured } = c;
  const avail = Math.min(ipEnd, captured);
  if (protocol === IP_PROTO_TCP) {
    if (l4 + 20 > avail) return quoted ? undefined : short(out, M.TRUNCATED_TCP, 'tcp', l4 + 20, ipEnd);
    const hl = (d.getUint8(l4 + 12) >>> 4) * 4;
    out.layers.push('tcp');
    const tcp: DecodedTcp = {
      srcPort: d.getUint16(l4),
      dstPort: d.getUint16(l4 + 2),
      headerLength: hl,
      flags: ((d.getUint8(l4 + 12) & 0x0f) << 8) | d.getUint8(l4 + 13),
      seq: d.getUint32(l4 + 4),
      ack: d.getUint32(l4 + 8),
      window: d.getUint16(l4 + 14),
      payloadLength: Math.max(0, ipEnd - l4 - hl),
    };
    out.tcp = tcp;
    if (hl < 20 || l4 + hl > ipEnd) return quoted ? undefined : mark(out, M.BAD_TCP_DATA_OFFSET, 'tcp');
    if (hl > 20 && l4 + hl <= captured) {
      if (tcpOptionsCheck(d, l4) < 0) mark(out, M.BAD_TCP_OPTIONS, 'tcp');
      const mss = tcpMss(d, l4);
      if (mss >= 0) tcp.mss = mss;
      const ws = tcpWindowScale(d, l4);
      if (ws >= 0) tcp.windowScale = ws;
    }
    return;
  }
  if (protocol === IP_PROTO_UDP) {
    if (l4 + 8 > avail) return quoted ? undefined : short(out, M.TRUNCATED_UDP, 'udp', l4 + 8, ipEnd);
    const udp: DecodedUdp = { srcPort: d.getUint16(l4), dstPort: d.getUint16(l4 + 2), length: d.getUint16(l4 + 4) };
    out.layers.push('udp');
    out.udp = udp;
    if (quoted) return;
    if (udp.length < 8 || l4 + udp.length > ipEnd) return mark(out, M.BAD_UDP_LENGTH, 'udp');
    const end = l4 + udp.length;
    if (udp.dstPort === VXLAN_PORT && l4 + 16 <= captured) {
      if (vxlanCheck(d, l4 + 8, end) < 0) return; // not VXLAN after all (tshark also decodes by port alone)
      out.layers.push('vxlan');
      out.vxlan = { vni: d.getUint32(l4 + 12) >>> 8 };
      out.inner = { layers: [] };
      decodeEthernet(c, l4 + 16, end, out.inner);
    } else if (udp.dstPort === GENEVE_PORT && l4 + 16 <= captured) {
      const hl = geneveCheck(d, l4 + 8, end);
      if (hl < 0) return;
      const proto = d.getUint16(l4 + 10);
      out.layers.push('geneve');
      out.geneve = { vni: d.getUint32(l4 + 12) >>> 8, protocol: proto };
      if (l4 + 8 + hl > captured) return short(out, M.TRUNCATED_TUNNEL, 'geneve', l4 + 8 + hl, end);
      out.inner = { layers: [] };
      decodeTunnelPayload(c, l4 + 8 + hl, end, proto, out.inner);
    } else if ((udp.dstPort === L2TP_PORT || udp.srcPort === L2TP_PORT) && l4 + 14 <= captured) {
      decodeL2tp(c, l4 + 8, end, out);
    }
    return;
  }
  if (protocol === IP_PROTO_SCTP) {
    if (l4 + 12 > avail) return quoted ? undefined : short(out, M.TRUNCATED_SCTP, 'sctp', l4 + 12, ipEnd);
    out.layers.push('sctp');
    out.sctp = { srcPort: d.getUint16(l4), dstPort: d.getUint16(l4 + 2) };
    return;
  }
  if (protocol === IP_PROTO_ICMP || protocol === IP_PROTO_ICMPV6) {
    if (l4 + (quoted ? 4 : 8) > avail) return quoted ? undefined : short(out, M.TRUNCATED_ICMP, 'icmp', l4 + 8, ipEnd);
    const type = d.getUint8(l4);
    const msg = { type, code: d.getUint8(l4 + 1) };
    const v6 = protocol === IP_PROTO_ICMPV6;
    out.layers.push(v6 ? 'icmpv6' : 'icmp');
    if (v6) out.icmpv6 = msg;
    else out.icmp = msg;
    if (!quoted && (v6 ? isIcmpv6Error(type) : isIcmpError(type)) && l4 + 8 < avail) {
      const q: DecodedFrame = { layers: [] };
      decodeIp(c, l4 + 8, ipEnd, q, v6 ? 6 : 4, true);
      out.quoted = q;
    }
    return;
  }
  if (quoted) return;
  if (protocol === IP_PROTO_GRE) {
    const hl = greCheck(d, l4, avail);
    if (hl < 0) return;
    const proto = d.getUint16(l4 + 2);
    const key = greKey(d, l4);
    out.layers.push('gre');
    out.gre = key >= 0 ? { protocol: proto, key } : { protocol: proto };
    out.inner = { layers: [] };
    decodeTunnelPayload(c, l4 + hl, ipEnd, proto, out.inner);
    return;
  }
  if (protocol === IP_PROTO_IPIP || protocol === IP_PROTO_IPV6) {
    out.inner = { layers: [] };
    decodeIp(c, l4, ipEnd, out.inner, protocol === IP_PROTO_IPIP ? 4 : 6);
  }
}

/** L2TPv2 (RFC 2661) at `at`: a data message's PPP frame (RFC 1661; address/control 0xff03 optional) carrying IP. */
function decodeL2tp(c: Cursor, at: number, end: number, out: DecodedFrame): void {
  const { d, captured } = c;
  const hl = l2tpCheck(d, at, Math.min(end, captured));
  if (hl < 0) return;
  const control = (d.getUint16(at) & L2TP_FLAG_T) !== 0;
  out.layers.push('l2tp');
  out.l2tp = { tunnel: l2tpTunnelId(d, at), session: l2tpSessionId(d, at), control };
  let i = at + hl;
  if (control || i + 2 > captured) return;
  if (d.getUint16(i) === 0xff03) i += 2;
  if (i + 2 > captured) return;
  const protocol = d.getUint16(i);
  out.inner = { layers: ['ppp'] };
  if (protocol === PPP_IPV4) decodeIp(c, i + 2, end, out.inner, 4);
  else if (protocol === PPP_IPV6) decodeIp(c, i + 2, end, out.inner, 6);
}

/** A tunnel's payload named by an EtherType (GRE, Geneve): Ethernet (0x6558), IPv4 or IPv6. */
function decodeTunnelPayload(c: Cursor, at: number, end: number, type: number, out: DecodedFrame): void {
  if (type === ETHERTYPE_TEB) decodeEthernet(c, at, end, out);
  else if (type === ETHERTYPE_IPV4) decodeIp(c, at, end, out, 4);
  else if (type === ETHERTYPE_IPV6) decodeIp(c, at, end, out, 6);
}
