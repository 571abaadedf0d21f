// The one-call classifier: Ethernet, VLAN tags (802.1Q, QinQ), then ARP, IPv4 (options walked) or IPv6 (extension
// headers walked), then the transport header (TCP with options, UDP, SCTP ports, ICMP, ICMPv6), written into a
// PacketInfo the NF allocates once. No allocation, no exception, no read outside [start, length): a malformed frame
// gives a negative status (see malformed.ts) with the fields found before the problem filled in and the rest reset.
//
// Measured (docs/packets.md, "Views and the classifier"): results in a class with fixed number fields, written in
// the same order every call, cost less than in an Int32Array indexed by constants (and read more clearly). Tunnels are not entered: classify(d, innerStart, length, info) classifies an inner Ethernet frame.
import { ARP_LENGTH, arpCheck } from './arp';
import { ETHERTYPE_ARP, ETHERTYPE_IPV4, ETHERTYPE_IPV6, ETH_HEADER, MAX_VLAN_TAGS, VLAN_TAG, isVlanTpid } from './ethernet';
import { ICMP_HEADER, icmpCheck } from './icmp';
import { IPV4_DST, IPV4_SRC, IP_PROTO_ICMP, IP_PROTO_ICMPV6, IP_PROTO_SCTP, IP_PROTO_TCP, IP_PROTO_UDP, ipv4Check, ipv4OptionsCheck } from './ipv4';
import { IPV6_DST, IPV6_HEADER, IPV6_SRC, Ipv6Walk, ipv6Check, ipv6Walk } from './ipv6';
import { OK, TOO_MANY_VLAN_TAGS, TRUNCATED_ETHERNET, TRUNCATED_VLAN } from './malformed';
import { sctpCheck, tcpCheck, tcpOptionsCheck, udpCheck, SCTP_COMMON_HEADER, UDP_HEADER } from './transport';

/** What classify() found. Allocate one per handler (or per NF) and pass it to every call. */
export class PacketInfo {
  /** OK (0) or a malformed code (< 0, see malformed.ts). */
  status = 0;
  /** VLAN tags seen (0..4) and the VLAN IDs of the outer two (-1 when absent). */
  vlans = 0;
  outerVlan = -1;
  innerVlan = -1;
  /** EtherType after the tags (-1 if the frame is too short to have one). */
  ethertype = -1;
  /** Offset of the L3 header (after the tags), -1 if none. */
  l3 = -1;
  /** 4, 6, or 0 (not IP: ARP or another EtherType). */
  ipVersion = 0;
  /** Where the L3 packet ends: IPv4 total length / IPv6 payload length from the header (frame padding excluded); the frame length for non-IP. */
  l3End = 0;
  /** Offsets of the source and destination addresses (IPv4: 4 bytes, IPv6: 16 bytes), -1 if not IP. */
  srcAddr = -1;
  dstAddr = -1;
  /** IPv4 addresses as unsigned numbers (0 for IPv6: read its words at srcAddr/dstAddr). */
  srcIp = 0;
  dstIp = 0;
  /** Transport protocol (IPv4 protocol, or IPv6 Next Header after the extension headers), -1 if not IP. */
  protocol = -1;
  /** 1 if the packet is an IP fragment; 1 in laterFragment if it is not the first (no transport header). */
  fragment = 0;
  laterFragment = 0;
  /** Offset of the upper-layer header (the IP payload after any IPv6 extension headers: TCP, UDP, GRE, ESP...), -1 for a later fragment or non-IP. */
  l4 = -1;
  /** Offset of what follows the transport header (TCP/UDP/SCTP/ICMP), -1 if none. */
  payload = -1;
  /** TCP/UDP/SCTP ports; for ICMP and ICMPv6, srcPort is the type and dstPort the code; else 0. */
  srcPort = 0;
  dstPort = 0;
  /** TCP flags byte, 0 otherwise. */
  tcpFlags = 0;
}

const walk = new Ipv6Walk();

function reset(info: PacketInfo): void {
  info.status = OK;
  info.vlans = 0;
  info.outerVlan = -1;
  info.innerVlan = -1;
  info.ethertype = -1;
  info.l3 = -1;
  info.ipVersion = 0;
  info.l3End = 0;
  info.srcAddr = -1;
  info.dstAddr = -1;
  info.srcIp = 0;
  info.dstIp = 0;
  info.protocol = -1;
  info.fragment = 0;
  info.laterFragment = 0;
  info.l4 = -1;
  info.payload = -1;
  info.srcPort = 0;
  info.dstPort = 0;
  info.tcpFlags = 0;
}

/**
 * Classify the Ethernet frame in bytes [start, length) of `d` into `info`; returns info.status (OK or a malformed
 * code). `start` is 0 for a received frame, or the inner frame's offset in a decapsulated one.
 */
export function classify(d: DataView, start: number, length: number, info: PacketInfo): number {
  reset(info);
  if (start + ETH_HEADER > length) return (info.status = TRUNCATED_ETHERNET);
  let at = start + ETH_HEADER;
  let type = d.getUint16(at - 2);
  while (isVlanTpid(type)) {
    if (info.vlans === MAX_VLAN_TAGS) return (info.status = TOO_MANY_VLAN_TAGS);
    if (at + VLAN_TAG > length) return (info.status = TRUNCATED_VLAN);
    const vid = d.getUint16(at) & 0x0fff;
    if (info.vlans === 0) info.outerVlan = vid;
    else if (info.vlans === 1) info.innerVlan = vid;
    info.vlans++;
    type = d.getUint16(at + 2);
    at += VLAN_TAG;
  }
  info.ethertype = type;
  info.l3 = at;
  info.l3End = length;
  if (type === ETHERTYPE_IPV4) return classifyIpv4(d, at, length, info);
  if (type === ETHERTYPE_IPV6) return classifyIpv6(d, at, length, info);
  if (type === ETHERTYPE_ARP) {
    const r = arpCheck(d, at, length);
    if (r < 0) return (info.status = r);
    info.l3End = at + ARP_LENGTH;
  }
  return OK;
}

function classifyIpv4(d: DataView, at: number, length: number, info: PacketInfo): number {
  const ihl = ipv4Check(d, at, length);
  if (ihl < 0) return (info.status = ihl);
  if (ihl > 20) {
    const o = ipv4OptionsCheck(d, at);
    if (o < 0) return (info.status = o);
  }
  info.ipVersion = 4;
  info.l3End = at + d.getUint16(at + 2);
  info.srcAddr = at + IPV4_SRC;
  info.dstAddr = at + IPV4_DST;
  info.srcIp = d.getUint32(at + IPV4_SRC);
  info.dstIp = d.getUint32(at + IPV4_DST);
  info.protocol = d.getUint8(at + 9);
  const ff = d.getUint16(at + 6);
  if ((ff & 0x3fff) !== 0) info.fragment = 1;
  if ((ff & 0x1fff) !== 0) {
    info.laterFragment = 1;
    return OK;
  }
  return classifyTransport(d, at + ihl, info.l3End, info);
}

function classifyIpv6(d: DataView, at: number, length: number, info: PacketInfo): number {
  const r = ipv6Check(d, at, length);
  if (r < 0) return (info.status = r);
  info.ipVersion = 6;
  info.l3End = at + IPV6_HEADER + d.getUint16(at + 4);
  info.srcAddr = at + IPV6_SRC;
  info.dstAddr = at + IPV6_DST;
  const l4 = ipv6Walk(d, at, walk);
  if (l4 < 0) return (info.status = l4);
  info.protocol = walk.protocol;
  info.fragment = walk.fragment;
  info.laterFragment = walk.laterFragment;
  if (walk.laterFragment === 1) return OK;
  return classifyTransport(d, l4, info.l3End, info);
}

function classifyTransport(d: DataView, l4: number, end: number, info: PacketInfo): number {
  const p = info.protocol;
  let hl: number;
  if (p === IP_PROTO_TCP) {
    hl = tcpCheck(d, l4, end);
    if (hl < 0) return (info.status = hl);
    if (hl > 20) {
      const o = tcpOptionsCheck(d, l4);
      if (o < 0) return (info.status = o);
    }
    info.tcpFlags = d.getUint8(l4 + 13);
  } else if (p === IP_PROTO_UDP) {
    hl = udpCheck(d, l4, end);
    if (hl < 0) return (info.status = hl);
    hl = UDP_HEADER;
  } else if (p === IP_PROTO_SCTP) {
    hl = sctpCheck(d, l4, end);
    if (hl < 0) return (info.status = hl);
    hl = SCTP_COMMON_HEADER;
  } else if (p === IP_PROTO_ICMP || p === IP_PROTO_ICMPV6) {
    hl = icmpCheck(d, l4, end);
    if (hl < 0) return (info.status = hl);
    hl = ICMP_HEADER;
    info.l4 = l4;
    info.payload = l4 + hl;
    info.srcPort = d.getUint8(l4);
    info.dstPort = d.getUint8(l4 + 1);
    return OK;
  } else {
    info.l4 = l4; // another protocol (GRE, ESP, ...): its header starts here, not checked
    return OK;
  }
  info.l4 = l4;
  info.payload = l4 + hl;
  info.srcPort = d.getUint16(l4);
  info.dstPort = d.getUint16(l4 + 2);
  return OK;
}
