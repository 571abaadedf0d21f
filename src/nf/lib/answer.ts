// Answers an NF writes in place of the frame it received (no allocation, the buffer is the received one; a handler
// returns the new length and sends the frame back out of the port it came from): an ARP reply to an ARP request
// (RFC 826), an ICMP error about an IPv4 packet (RFC 792, RFC 1812 Section 4.3.2.3) and an ICMP echo reply.
// The received frame's offsets come from classify() (PacketInfo.l3, .l3End); VLAN tags, if any, are kept.
import { ARP_OPER, ARP_REPLY, ARP_SHA, ARP_SPA, ARP_THA, ARP_TPA } from './arp';
import { checksumReplace16, internetChecksum, ipv4HeaderChecksum } from './checksum';
import { ETH_DST, ETH_MIN_FRAME, ETH_SRC } from './ethernet';
import { ICMP_ECHO_REPLY, ICMP_HEADER } from './icmp';
import { IPV4_MIN_HEADER, IP_PROTO_ICMP } from './ipv4';

/**
 * Turn the ARP request at `arp` (arpCheck() passed, operation 1) into the reply saying that the requested IPv4
 * address is at `mac` (6 bytes at `macOffset` of `macBytes`): Ethernet destination = the requester, source = `mac`;
 * ARP sender = (`mac`, requested address), target = the requester. Returns the frame length (at least 60).
 */
export function writeArpReply(packet: Uint8Array, d: DataView, length: number, arp: number, macBytes: Uint8Array, macOffset = 0): number {
  const requested = d.getUint32(arp + ARP_TPA);
  packet.copyWithin(arp + ARP_THA, arp + ARP_SHA, arp + ARP_SHA + 10); // target := requester (MAC and IPv4)
  packet.copyWithin(ETH_DST, arp + ARP_SHA, arp + ARP_SHA + 6);
  for (let i = 0; i < 6; i++) {
    packet[arp + ARP_SHA + i] = macBytes[macOffset + i];
    packet[ETH_SRC + i] = macBytes[macOffset + i];
  }
  d.setUint32(arp + ARP_SPA, requested);
  d.setUint16(arp + ARP_OPER, ARP_REPLY);
  return padToMinimum(packet, length);
}

/** RFC 1812 Section 4.3.2.3: an ICMP error holds as much of the offending packet as fits in 576 bytes of IP. */
export const ICMP_ERROR_MAX_IP = 576;

/**
 * Replace the IPv4 packet at `l3` (ending at `l3End`, ipv4Check() passed) by an ICMP error about it from `srcIp`:
 * type/code (e.g. 3/4 "fragmentation needed", 11/0 "TTL exceeded"), `rest` the 4 bytes after the checksum (e.g. the
 * next-hop MTU in the low 16 bits for 3/4). The offending packet's start moves behind the new IPv4 + ICMP headers;
 * the MAC addresses are swapped; TTL 64. Returns the new frame length. The caller must not answer an ICMP error, a
 * later fragment, or a broadcast/multicast packet (RFC 1122 Section 3.2.2): isIcmpError() and PacketInfo tell.
 */
export function writeIcmpError(packet: Uint8Array, d: DataView, l3: number, l3End: number, type: number, code: number, rest: number, srcIp: number): number {
  const quote = Math.min(l3End - l3, ICMP_ERROR_MAX_IP - IPV4_MIN_HEADER - ICMP_HEADER, packet.length - l3 - IPV4_MIN_HEADER - ICMP_HEADER);
  const origSrc = d.getUint32(l3 + 12);
  packet.copyWithin(l3 + IPV4_MIN_HEADER + ICMP_HEADER, l3, l3 + quote);
  swapMacs(packet);
  const icmp = l3 + IPV4_MIN_HEADER;
  const total = IPV4_MIN_HEADER + ICMP_HEADER + quote;
  d.setUint32(l3, 0x45000000 | total); // version 4, IHL 5, TOS 0
  d.setUint32(l3 + 4, 0); // identification 0, no flags, offset 0
  d.setUint32(l3 + 8, (64 << 24) | (IP_PROTO_ICMP << 16)); // TTL, protocol, checksum 0 for now
  d.setUint32(l3 + 12, srcIp);
  d.setUint32(l3 + 16, origSrc);
  d.setUint16(l3 + 10, ipv4HeaderChecksum(packet, l3, IPV4_MIN_HEADER));
  d.setUint32(icmp, (type << 24) | (code << 16));
  d.setUint32(icmp + 4, rest);
  d.setUint16(icmp + 2, internetChecksum(packet, icmp, ICMP_HEADER + quote));
  return padToMinimum(packet, l3 + total);
}

/**
 * Turn the ICMP echo request at `icmp` of the IPv4 packet at `l3` into its echo reply in place: addresses and MACs
 * swapped, type 0, checksums updated incrementally. Returns `length`.
 */
export function writeIcmpEchoReply(packet: Uint8Array, d: DataView, length: number, l3: number, icmp: number): number {
  swapMacs(packet);
  const src = d.getUint32(l3 + 12);
  d.setUint32(l3 + 12, d.getUint32(l3 + 16));
  d.setUint32(l3 + 16, src); // the header checksum does not change when two covered words swap
  const old = d.getUint16(icmp);
  d.setUint8(icmp, ICMP_ECHO_REPLY);
  d.setUint16(icmp + 2, checksumReplace16(d.getUint16(icmp + 2), old, d.getUint16(icmp)));
  return length;
}

function swapMacs(packet: Uint8Array): void {
  for (let i = 0; i < 6; i++) {
    const t = packet[ETH_DST + i];
    packet[ETH_DST + i] = packet[ETH_SRC + i];
    packet[ETH_SRC + i] = t;
  }
}

function padToMinimum(packet: Uint8Array, length: number): number {
  if (length >= ETH_MIN_FRAME) return length;
  packet.fill(0, length, ETH_MIN_FRAME);
  return ETH_MIN_FRAME;
}
