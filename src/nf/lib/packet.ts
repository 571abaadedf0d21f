// Fixed offsets of an untagged Ethernet II + IPv4 frame, for NFs that handle only those (the header views in
// ethernet.ts, ipv4.ts, ... take offsets and handle VLAN tags, options and IPv6; classify.ts does it all in one call).
// Kept as the first version of the library's interface: everything here is defined in terms of those modules.
import { ETH_HEADER, ETH_TYPE, ETHERTYPE_IPV4 } from './ethernet';
import { IPV4_CHECKSUM, IPV4_DST, IPV4_FLAGS_FRAGMENT, IPV4_PROTOCOL, IPV4_SRC, IPV4_TOTAL_LENGTH, IPV4_VERSION_IHL, ipv4Check, ipv4IsFragment } from './ipv4';

export { ETH_DST, ETH_HEADER, ETH_SRC, ETH_TYPE, ETHERTYPE_IPV4 } from './ethernet';
export { IPV4_MIN_HEADER, IP_PROTO_TCP, IP_PROTO_UDP } from './ipv4';
export { internetChecksum } from './checksum';

export const IP_VERSION_IHL = ETH_HEADER + IPV4_VERSION_IHL;
export const IP_TOTAL_LENGTH = ETH_HEADER + IPV4_TOTAL_LENGTH;
export const IP_FLAGS_FRAGMENT = ETH_HEADER + IPV4_FLAGS_FRAGMENT;
export const IP_PROTOCOL = ETH_HEADER + IPV4_PROTOCOL;
export const IP_CHECKSUM = ETH_HEADER + IPV4_CHECKSUM;
export const IP_SRC = ETH_HEADER + IPV4_SRC;
export const IP_DST = ETH_HEADER + IPV4_DST;

/**
 * Length of the IPv4 header if `data` holds a well-formed untagged IPv4 packet within `length` bytes (EtherType
 * 0x0800, version 4, IHL >= 5, total length covering the header and within the frame), else 0.
 */
export function ipv4HeaderLength(data: DataView, length: number): number {
  if (length < ETH_HEADER || data.getUint16(ETH_TYPE) !== ETHERTYPE_IPV4) return 0;
  const ihl = ipv4Check(data, ETH_HEADER, length);
  return ihl > 0 ? ihl : 0;
}

/** Whether the untagged IPv4 packet is a fragment (MF set or non-zero offset): its L4 header may be absent. */
export function isFragment(data: DataView): boolean {
  return ipv4IsFragment(data, ETH_HEADER);
}
