// Fixed offsets of an untagged Ethernet II + IPv4 frame, for NFs that handle only those (the header views in
// ethernet.ts, ipv4.ts, ... take offsets and handle VLAN tags, options and IPv6; classify.ts does it all in one call).
// Kept as the first version of the library's interface: everything here is defined in terms of those modules.
//
// PERFORMANCE: these are `export const` copies, not `export { X } from`: tsc compiles a re-export to a getter on the
// exports object, which a handler then calls on every use of the constant (measured: NAT, firewall and the load
// balancer 1.5-1.7x slower per packet). A data property is what V8 loads (and folds) cheaply.
import * as checksum from './checksum';
import * as ethernet from './ethernet';
import * as ip from './ipv4';

export const ETH_HEADER = ethernet.ETH_HEADER;
export const ETH_DST = ethernet.ETH_DST;
export const ETH_SRC = ethernet.ETH_SRC;
export const ETH_TYPE = ethernet.ETH_TYPE;
export const ETHERTYPE_IPV4 = ethernet.ETHERTYPE_IPV4;
export const IPV4_MIN_HEADER = ip.IPV4_MIN_HEADER;
export const IP_PROTO_TCP = ip.IP_PROTO_TCP;
export const IP_PROTO_UDP = ip.IP_PROTO_UDP;
export const internetChecksum = checksum.internetChecksum;

export const IP_VERSION_IHL = ETH_HEADER + ip.IPV4_VERSION_IHL;
export const IP_TOTAL_LENGTH = ETH_HEADER + ip.IPV4_TOTAL_LENGTH;
export const IP_FLAGS_FRAGMENT = ETH_HEADER + ip.IPV4_FLAGS_FRAGMENT;
export const IP_PROTOCOL = ETH_HEADER + ip.IPV4_PROTOCOL;
export const IP_CHECKSUM = ETH_HEADER + ip.IPV4_CHECKSUM;
export const IP_SRC = ETH_HEADER + ip.IPV4_SRC;
export const IP_DST = ETH_HEADER + ip.IPV4_DST;

/**
 * Length of the IPv4 header if `data` holds a well-formed untagged IPv4 packet within `length` bytes (EtherType
 * 0x0800, version 4, IHL >= 5, total length covering the header and within the frame), else 0.
 */
export function ipv4HeaderLength(data: DataView, length: number): number {
  if (length < ETH_HEADER || data.getUint16(ETH_TYPE) !== ETHERTYPE_IPV4) return 0;
  const ihl = ip.ipv4Check(data, ETH_HEADER, length);
  return ihl > 0 ? ihl : 0;
}

/** Whether the untagged IPv4 packet is a fragment (MF set or non-zero offset): its L4 header may be absent. */
export function isFragment(data: DataView): boolean {
  return ip.ipv4IsFragment(data, ETH_HEADER);
}
