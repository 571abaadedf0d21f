// IPv4 (RFC 791), options included. Offsets are relative to the IPv4 header (`at`: after the Ethernet header and any
// VLAN tags). ipv4Check() validates what every reader needs before trusting the other accessors.
import { BAD_IPV4_IHL, BAD_IPV4_OPTIONS, BAD_IPV4_TOTAL_LENGTH, BAD_IPV4_VERSION, TRUNCATED_IPV4 } from './malformed';

export const IPV4_MIN_HEADER = 20;
export const IPV4_VERSION_IHL = 0;
export const IPV4_TOS = 1;
export const IPV4_TOTAL_LENGTH = 2;
export const IPV4_ID = 4;
export const IPV4_FLAGS_FRAGMENT = 6;
export const IPV4_TTL = 8;
export const IPV4_PROTOCOL = 9;
export const IPV4_CHECKSUM = 10;
export const IPV4_SRC = 12;
export const IPV4_DST = 16;
export const IPV4_FLAG_DF = 0x4000;
export const IPV4_FLAG_MF = 0x2000;
export const IPV4_FRAGMENT_OFFSET_MASK = 0x1fff;

/** IP protocol numbers (IANA "Assigned Internet Protocol Numbers"). */
export const IP_PROTO_HOPOPTS = 0;
export const IP_PROTO_ICMP = 1;
export const IP_PROTO_IPIP = 4;
export const IP_PROTO_TCP = 6;
export const IP_PROTO_UDP = 17;
export const IP_PROTO_IPV6 = 41;
export const IP_PROTO_ROUTING = 43;
export const IP_PROTO_FRAGMENT = 44;
export const IP_PROTO_GRE = 47;
export const IP_PROTO_ESP = 50;
export const IP_PROTO_AH = 51;
export const IP_PROTO_ICMPV6 = 58;
export const IP_PROTO_NONE = 59;
export const IP_PROTO_DSTOPTS = 60;
export const IP_PROTO_SCTP = 132;

/** IPv4 option types (RFC 791 Section 3.1; IANA "IP Option Numbers"). */
export const IPV4_OPTION_EOL = 0;
export const IPV4_OPTION_NOP = 1;
export const IPV4_OPTION_RECORD_ROUTE = 7;
export const IPV4_OPTION_TIMESTAMP = 68;
export const IPV4_OPTION_LSRR = 131;
export const IPV4_OPTION_SSRR = 137;
export const IPV4_OPTION_ROUTER_ALERT = 148;

/**
 * The IPv4 header length (20..60) if the frame of `length` bytes holds a well-formed IPv4 header at `at` (version 4,
 * IHL >= 5, total length covering the header and within the frame), else a malformed code. Options are not walked:
 * ipv4OptionsCheck() does that. Bytes past at + total length are Ethernet padding, not part of the packet.
 */
export function ipv4Check(d: DataView, at: number, length: number): number {
  if (at + IPV4_MIN_HEADER > length) return TRUNCATED_IPV4;
  const vihl = d.getUint8(at);
  if (vihl >>> 4 !== 4) return BAD_IPV4_VERSION;
  const ihl = (vihl & 0x0f) * 4;
  if (ihl < IPV4_MIN_HEADER || at + ihl > length) return BAD_IPV4_IHL;
  const total = d.getUint16(at + IPV4_TOTAL_LENGTH);
  if (total < ihl || at + total > length) return BAD_IPV4_TOTAL_LENGTH;
  return ihl;
}

export function ipv4HeaderLengthOf(d: DataView, at: number): number {
  return (d.getUint8(at) & 0x0f) * 4;
}
export function ipv4TotalLength(d: DataView, at: number): number {
  return d.getUint16(at + IPV4_TOTAL_LENGTH);
}
export function ipv4Protocol(d: DataView, at: number): number {
  return d.getUint8(at + IPV4_PROTOCOL);
}
export function ipv4Ttl(d: DataView, at: number): number {
  return d.getUint8(at + IPV4_TTL);
}
export function ipv4Src(d: DataView, at: number): number {
  return d.getUint32(at + IPV4_SRC);
}
export function ipv4Dst(d: DataView, at: number): number {
  return d.getUint32(at + IPV4_DST);
}
/** Fragment offset in 8-byte units. */
export function ipv4FragmentOffset(d: DataView, at: number): number {
  return d.getUint16(at + IPV4_FLAGS_FRAGMENT) & IPV4_FRAGMENT_OFFSET_MASK;
}
/** Whether the packet is a fragment (MF set or a non-zero offset): only the first fragment has the L4 header. */
export function ipv4IsFragment(d: DataView, at: number): boolean {
  return (d.getUint16(at + IPV4_FLAGS_FRAGMENT) & 0x3fff) !== 0;
}

/**
 * Walk the options of the IPv4 header at `at` (IHL already checked): 0 if every option lies within the header (RFC 791
 * Section 3.1: EOL and NOP are one byte, every other option has a length byte >= 2), else BAD_IPV4_OPTIONS.
 */
export function ipv4OptionsCheck(d: DataView, at: number): number {
  return ipv4FindOption(d, at, -1) === BAD_IPV4_OPTIONS ? BAD_IPV4_OPTIONS : 0;
}

/**
 * Offset of the first option of `type` in the IPv4 header at `at` (IHL already checked), -1 if absent,
 * BAD_IPV4_OPTIONS if the list is malformed before it is found. The option's length is the byte after its type.
 */
export function ipv4FindOption(d: DataView, at: number, type: number): number {
  const end = at + (d.getUint8(at) & 0x0f) * 4;
  let i = at + IPV4_MIN_HEADER;
  while (i < end) {
    const t = d.getUint8(i);
    if (t === type) {
      if (t !== IPV4_OPTION_EOL && t !== IPV4_OPTION_NOP && (i + 1 >= end || d.getUint8(i + 1) < 2 || i + d.getUint8(i + 1) > end)) return BAD_IPV4_OPTIONS;
      return i;
    }
    if (t === IPV4_OPTION_EOL) return -1;
    if (t === IPV4_OPTION_NOP) {
      i++;
      continue;
    }
    if (i + 1 >= end) return BAD_IPV4_OPTIONS;
    const len = d.getUint8(i + 1);
    if (len < 2 || i + len > end) return BAD_IPV4_OPTIONS;
    i += len;
  }
  return -1;
}
