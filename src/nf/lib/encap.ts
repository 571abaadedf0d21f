// Overlay encapsulation headers: VXLAN (RFC 7348), GRE (RFC 2784, key extension RFC 2890), GRE-TAP (GRE carrying
// Transparent Ethernet Bridging, EtherType 0x6558) and IPIP (RFC 2003), all over an outer Ethernet + IPv4 header.
// Outer headers are prepared once per FIB entry as a byte template (addresses, TTL, ToS, DF, protocol, VNI/key) with
// the partial one's-complement sum of the outer IPv4 header's fixed fields, so per packet only the total length, the
// identification, the checksum and (VXLAN) the UDP length and source port are written.
import { keyedHash } from './flow-table';
import { ETHERTYPE_IPV4, ETHERTYPE_TEB, ETH_HEADER } from './ethernet';
import { IPV4_MIN_HEADER, IP_PROTO_GRE, IP_PROTO_IPIP, IP_PROTO_SCTP, IP_PROTO_TCP, IP_PROTO_UDP } from './ipv4';
import { GRE_FLAG_K, GRE_HEADER, VXLAN_FLAG_I, VXLAN_HEADER, VXLAN_PORT } from './overlay';
import { UDP_HEADER } from './transport';

export const ENCAP_VXLAN = 1;
export const ENCAP_GRE = 2;
export const ENCAP_GRETAP = 3;
export const ENCAP_IPIP = 4;
export type EncapName = 'vxlan' | 'gre' | 'gretap' | 'ipip';
export const ENCAP_TYPES: Record<EncapName, number> = { vxlan: ENCAP_VXLAN, gre: ENCAP_GRE, gretap: ENCAP_GRETAP, ipip: ENCAP_IPIP };

/** RFC 7348 Section 5: the source port should be in the dynamic/private range 49152-65535. */
export const VXLAN_SOURCE_PORT_BASE = 49152;
export const VXLAN_SOURCE_PORT_MASK = 0x3fff;

/** Bytes per template slot (the longest outer header, VXLAN: 14 + 20 + 8 + 8 = 50). */
export const TEMPLATE_BYTES = 64;
/** Outer IPv4 header fields (offsets in the encapsulated frame). */
export const OUTER_IP = ETH_HEADER;
export const OUTER_IP_TOTAL_LENGTH = OUTER_IP + 2;
export const OUTER_IP_ID = OUTER_IP + 4;
export const OUTER_IP_CHECKSUM = OUTER_IP + 10;
export const OUTER_L4 = OUTER_IP + IPV4_MIN_HEADER;
export const OUTER_UDP_SOURCE = OUTER_L4;
export const OUTER_UDP_LENGTH = OUTER_L4 + 4;

export interface OuterHeader {
  encap: number;
  srcMac: Uint8Array;
  dstMac: Uint8Array;
  srcIp: number;
  dstIp: number;
  ttl: number;
  tos: number;
  df: boolean;
  /** VXLAN network identifier (24 bits). */
  vni: number;
  /** GRE key (RFC 2890), or -1 for none. */
  greKey: number;
}

/**
 * Write the outer headers of `h` into `out` at `at` (total length, identification, checksum, UDP source port and
 * length left 0) and return [header length including the outer Ethernet header, sum of the outer IPv4 header's
 * 16-bit words (unfolded)].
 */
export function writeTemplate(h: OuterHeader, out: Uint8Array, at: number): [number, number] {
  const v = new DataView(out.buffer, out.byteOffset + at, TEMPLATE_BYTES);
  out.fill(0, at, at + TEMPLATE_BYTES);
  out.set(h.dstMac, at);
  out.set(h.srcMac, at + 6);
  v.setUint16(12, ETHERTYPE_IPV4);
  const ip = ETH_HEADER;
  v.setUint8(ip, 0x45); // version 4, IHL 5 (no options)
  v.setUint8(ip + 1, h.tos);
  v.setUint16(ip + 6, h.df ? 0x4000 : 0); // flags (DF) and fragment offset 0
  v.setUint8(ip + 8, h.ttl);
  const proto = h.encap === ENCAP_VXLAN ? IP_PROTO_UDP : h.encap === ENCAP_IPIP ? IP_PROTO_IPIP : IP_PROTO_GRE;
  v.setUint8(ip + 9, proto);
  v.setUint32(ip + 12, h.srcIp);
  v.setUint32(ip + 16, h.dstIp);
  let sum = 0;
  for (let i = 0; i < IPV4_MIN_HEADER; i += 2) sum += v.getUint16(ip + i);
  let length = ETH_HEADER + IPV4_MIN_HEADER;
  if (h.encap === ENCAP_VXLAN) {
    v.setUint16(length + 2, VXLAN_PORT); // UDP destination; source port and length per packet, checksum 0
    v.setUint8(length + UDP_HEADER, VXLAN_FLAG_I);
    v.setUint32(length + UDP_HEADER + 4, (h.vni << 8) >>> 0); // VNI in bytes 4-6, byte 7 reserved (0)
    length += UDP_HEADER + VXLAN_HEADER;
  } else if (h.encap === ENCAP_GRE || h.encap === ENCAP_GRETAP) {
    v.setUint16(length, h.greKey >= 0 ? GRE_FLAG_K : 0); // C=0, K as configured, S=0, version 0
    v.setUint16(length + 2, h.encap === ENCAP_GRE ? ETHERTYPE_IPV4 : ETHERTYPE_TEB);
    length += GRE_HEADER;
    if (h.greKey >= 0) {
      v.setUint32(length, h.greKey);
      length += 4;
    }
  }
  return [length, sum];
}

/** Finish a one's-complement sum: fold the carries and complement (RFC 1071). */
export function foldChecksum(sum: number): number {
  sum = (sum & 0xffff) + (sum >>> 16);
  sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/**
 * RFC 7348 Section 5 source-port entropy: a keyed hash of the inner frame's headers (IPv4 addresses, protocol and
 * TCP/UDP/SCTP ports when present and not a fragment, else the MAC addresses and EtherType), mapped to
 * 49152-65535. One inner flow always gets the same port (within a process: the hash key is per process).
 */
export function vxlanSourcePort(data: DataView, length: number): number {
  let h: number;
  if (length >= ETH_HEADER + IPV4_MIN_HEADER && data.getUint16(12) === ETHERTYPE_IPV4 && data.getUint8(ETH_HEADER) >>> 4 === 4) {
    const proto = data.getUint8(ETH_HEADER + 9);
    const l4 = ETH_HEADER + (data.getUint8(ETH_HEADER) & 0x0f) * 4;
    let ports = 0;
    const unfragmented = (data.getUint16(ETH_HEADER + 6) & 0x3fff) === 0;
    if (unfragmented && l4 >= ETH_HEADER + IPV4_MIN_HEADER && l4 + 4 <= length && (proto === IP_PROTO_UDP || proto === IP_PROTO_TCP || proto === IP_PROTO_SCTP)) {
      ports = data.getUint32(l4);
    }
    // int32 words: a uint32 above 2^31 passed to a function V8 does not inline would be a boxed double
    h = keyedHash(data.getInt32(ETH_HEADER + 12), data.getInt32(ETH_HEADER + 16), ports | 0, proto);
  } else if (length >= ETH_HEADER) {
    h = keyedHash(data.getInt32(0), data.getInt32(4), data.getInt32(8), data.getUint16(12));
  } else {
    h = 0;
  }
  return VXLAN_SOURCE_PORT_BASE | (h & VXLAN_SOURCE_PORT_MASK);
}
