// IPv6 (RFC 8200) and the walk over its extension headers to the upper-layer (transport) header. Offsets are relative
// to the IPv6 header (`at`). The walk is bounded: every extension header is at least 8 bytes long, so each step moves
// forward, and at most MAX_IPV6_EXTENSIONS are followed; a header running past the payload is malformed.
import { IP_PROTO_AH, IP_PROTO_DSTOPTS, IP_PROTO_FRAGMENT, IP_PROTO_HOPOPTS, IP_PROTO_ROUTING } from './ipv4';
import { BAD_IPV6_PAYLOAD_LENGTH, BAD_IPV6_VERSION, TOO_MANY_IPV6_EXTENSIONS, TRUNCATED_IPV6, TRUNCATED_IPV6_EXTENSION } from './malformed';

export const IPV6_HEADER = 40;
export const IPV6_PAYLOAD_LENGTH = 4;
export const IPV6_NEXT_HEADER = 6;
export const IPV6_HOP_LIMIT = 7;
export const IPV6_SRC = 8;
export const IPV6_DST = 24;
/** Extension headers followed at most (RFC 8200 Section 4.1 recommends each appear once; 8 leaves room for repeats). */
export const MAX_IPV6_EXTENSIONS = 8;
export const IPV6_FRAGMENT_HEADER = 8;
/** IANA "IPv6 Extension Header Types" beyond those in ipv4.ts: Mobility (RFC 6275), HIP (RFC 7401), Shim6 (RFC 5533), experiments (RFC 3692). */
export const IP_PROTO_MOBILITY = 135;
export const IP_PROTO_HIP = 139;
export const IP_PROTO_SHIM6 = 140;

/** IPV6_HEADER if a well-formed IPv6 header is at `at` with its payload within `length` bytes, else a malformed code. */
export function ipv6Check(d: DataView, at: number, length: number): number {
  if (at + IPV6_HEADER > length) return TRUNCATED_IPV6;
  if (d.getUint8(at) >>> 4 !== 6) return BAD_IPV6_VERSION;
  if (at + IPV6_HEADER + d.getUint16(at + IPV6_PAYLOAD_LENGTH) > length) return BAD_IPV6_PAYLOAD_LENGTH;
  return IPV6_HEADER;
}

export function ipv6PayloadLength(d: DataView, at: number): number {
  return d.getUint16(at + IPV6_PAYLOAD_LENGTH);
}
export function ipv6NextHeader(d: DataView, at: number): number {
  return d.getUint8(at + IPV6_NEXT_HEADER);
}
export function ipv6HopLimit(d: DataView, at: number): number {
  return d.getUint8(at + IPV6_HOP_LIMIT);
}
/** Word `i` (0..3) of the source address, unsigned. */
export function ipv6SrcWord(d: DataView, at: number, i: number): number {
  return d.getUint32(at + IPV6_SRC + 4 * i);
}
/** Word `i` (0..3) of the destination address, unsigned. */
export function ipv6DstWord(d: DataView, at: number, i: number): number {
  return d.getUint32(at + IPV6_DST + 4 * i);
}

/** Whether a Next Header value names an extension header that the walk steps over. */
export function isIpv6Extension(nh: number): boolean {
  return (
    nh === IP_PROTO_HOPOPTS || nh === IP_PROTO_ROUTING || nh === IP_PROTO_FRAGMENT || nh === IP_PROTO_DSTOPTS ||
    nh === IP_PROTO_AH || nh === IP_PROTO_MOBILITY || nh === IP_PROTO_HIP || nh === IP_PROTO_SHIM6 || nh === 253 || nh === 254
  );
}

/** Where the extension-header walk ended; allocate one and pass it to every ipv6Walk() call. */
export class Ipv6Walk {
  /** Upper-layer protocol (Next Header of the last extension header; 59 = none, 50 = ESP). */
  protocol = 0;
  /** Offset of the upper-layer header. */
  offset = 0;
  /** Extension headers stepped over. */
  extensions = 0;
  /** 1 if a Fragment header was seen. */
  fragment = 0;
  /** 1 if that fragment is not the first (offset != 0): the upper-layer header is in another packet. */
  laterFragment = 0;
  /** The Next Header values of the extension headers stepped over (the first `extensions` entries). */
  readonly types = new Uint8Array(MAX_IPV6_EXTENSIONS);
}

/**
 * Walk the extension headers of the IPv6 packet at `at` (ipv6Check() passed) up to the upper-layer header, filling
 * `w`. Returns the upper-layer header's offset, or a malformed code. A later fragment stops the walk at its Fragment
 * header (the rest of the chain is in the first fragment). `end` bounds the walk: by default the end of the payload.
 */
export function ipv6Walk(d: DataView, at: number, w: Ipv6Walk, end = at + IPV6_HEADER + d.getUint16(at + IPV6_PAYLOAD_LENGTH)): number {
  let nh = d.getUint8(at + IPV6_NEXT_HEADER);
  let i = at + IPV6_HEADER;
  w.extensions = 0;
  w.fragment = 0;
  w.laterFragment = 0;
  while (isIpv6Extension(nh)) {
    if (w.extensions === MAX_IPV6_EXTENSIONS) return TOO_MANY_IPV6_EXTENSIONS;
    if (i + 8 > end) return TRUNCATED_IPV6_EXTENSION;
    let len: number;
    if (nh === IP_PROTO_FRAGMENT) {
      len = IPV6_FRAGMENT_HEADER;
      w.fragment = 1;
      if ((d.getUint16(i + 2) & 0xfff8) !== 0) w.laterFragment = 1;
    } else if (nh === IP_PROTO_AH) {
      len = (d.getUint8(i + 1) + 2) * 4; // RFC 4302 Section 2.2: length in 4-octet units, minus 2
    } else {
      len = (d.getUint8(i + 1) + 1) * 8; // RFC 8200 Section 4.3-4.6: length in 8-octet units, not counting the first
    }
    if (i + len > end) return TRUNCATED_IPV6_EXTENSION;
    w.types[w.extensions] = nh;
    nh = d.getUint8(i);
    i += len;
    w.extensions++;
    if (w.laterFragment === 1) break;
  }
  w.protocol = nh;
  w.offset = i;
  return i;
}
