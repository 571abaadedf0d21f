// ARP over Ethernet for IPv4 (RFC 826): hardware type 1, protocol type 0x0800, address lengths 6 and 4, so the
// message is 28 bytes. Offsets are relative to the ARP header (`at`, after the Ethernet header and any VLAN tags).
import { BAD_ARP, TRUNCATED_ARP } from './malformed';

export const ARP_LENGTH = 28;
export const ARP_HTYPE = 0;
export const ARP_PTYPE = 2;
export const ARP_HLEN = 4;
export const ARP_PLEN = 5;
export const ARP_OPER = 6;
export const ARP_SHA = 8;
export const ARP_SPA = 14;
export const ARP_THA = 18;
export const ARP_TPA = 24;
export const ARP_HTYPE_ETHERNET = 1;
export const ARP_REQUEST = 1;
export const ARP_REPLY = 2;

/** ARP_LENGTH if the frame holds an Ethernet/IPv4 ARP message at `at`, else a malformed code. */
export function arpCheck(d: DataView, at: number, length: number): number {
  if (at + ARP_LENGTH > length) return TRUNCATED_ARP;
  if (d.getUint16(at + ARP_HTYPE) !== ARP_HTYPE_ETHERNET || d.getUint16(at + ARP_PTYPE) !== 0x0800) return BAD_ARP;
  if (d.getUint8(at + ARP_HLEN) !== 6 || d.getUint8(at + ARP_PLEN) !== 4) return BAD_ARP;
  return ARP_LENGTH;
}

export function arpOperation(d: DataView, at: number): number {
  return d.getUint16(at + ARP_OPER);
}
export function arpSenderIp(d: DataView, at: number): number {
  return d.getUint32(at + ARP_SPA);
}
export function arpTargetIp(d: DataView, at: number): number {
  return d.getUint32(at + ARP_TPA);
}
