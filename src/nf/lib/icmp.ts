// ICMP (RFC 792) and ICMPv6 (RFC 4443): type, code, checksum, then 4 bytes whose meaning depends on the type (echo:
// identifier and sequence number; errors: unused/pointer/MTU, followed by the start of the offending packet).
import { TRUNCATED_ICMP } from './malformed';

export const ICMP_HEADER = 8;
export const ICMP_TYPE = 0;
export const ICMP_CODE = 1;
export const ICMP_CHECKSUM = 2;
export const ICMP_IDENTIFIER = 4;
export const ICMP_SEQUENCE = 6;

/** ICMP types (RFC 792). */
export const ICMP_ECHO_REPLY = 0;
export const ICMP_DEST_UNREACHABLE = 3;
export const ICMP_REDIRECT = 5;
export const ICMP_ECHO_REQUEST = 8;
export const ICMP_TIME_EXCEEDED = 11;
export const ICMP_PARAMETER_PROBLEM = 12;
/** Destination-unreachable codes (RFC 792, RFC 1191 for 4). */
export const ICMP_NET_UNREACHABLE = 0;
export const ICMP_HOST_UNREACHABLE = 1;
export const ICMP_PROTOCOL_UNREACHABLE = 2;
export const ICMP_PORT_UNREACHABLE = 3;
export const ICMP_FRAGMENTATION_NEEDED = 4;
export const ICMP_ADMIN_PROHIBITED = 13; // RFC 1812 Section 5.2.7.1

/** ICMPv6 types (RFC 4443, RFC 4861). */
export const ICMPV6_DEST_UNREACHABLE = 1;
export const ICMPV6_PACKET_TOO_BIG = 2;
export const ICMPV6_TIME_EXCEEDED = 3;
export const ICMPV6_PARAMETER_PROBLEM = 4;
export const ICMPV6_ECHO_REQUEST = 128;
export const ICMPV6_ECHO_REPLY = 129;
export const ICMPV6_ROUTER_SOLICITATION = 133;
export const ICMPV6_ROUTER_ADVERTISEMENT = 134;
export const ICMPV6_NEIGHBOR_SOLICITATION = 135;
export const ICMPV6_NEIGHBOR_ADVERTISEMENT = 136;

/** ICMP_HEADER if an ICMP or ICMPv6 header at `at` lies within `end`, else TRUNCATED_ICMP. */
export function icmpCheck(_d: DataView, at: number, end: number): number {
  return at + ICMP_HEADER > end ? TRUNCATED_ICMP : ICMP_HEADER;
}
export function icmpType(d: DataView, at: number): number {
  return d.getUint8(at + ICMP_TYPE);
}
export function icmpCode(d: DataView, at: number): number {
  return d.getUint8(at + ICMP_CODE);
}
export function icmpIdentifier(d: DataView, at: number): number {
  return d.getUint16(at + ICMP_IDENTIFIER);
}
/** Whether an ICMP type is an error message (RFC 1122 Section 3.2.2: never sent in answer to another error). */
export function isIcmpError(type: number): boolean {
  return type === ICMP_DEST_UNREACHABLE || type === ICMP_REDIRECT || type === ICMP_TIME_EXCEEDED || type === ICMP_PARAMETER_PROBLEM || type === 4;
}
/** Whether an ICMPv6 type is an error message (RFC 4443 Section 2.1: types 0-127). */
export function isIcmpv6Error(type: number): boolean {
  return type < 128;
}
