// Header offsets and bounds-checked accessors for Ethernet II / IPv4 / UDP / TCP (RFC 791, 768, 793).
// Every accessor takes the frame length, so a truncated or malformed frame is recognised, never read past.

export const ETH_HEADER = 14;
export const ETHERTYPE_IPV4 = 0x0800;
export const IPV4_MIN_HEADER = 20;
export const IP_PROTO_TCP = 6;
export const IP_PROTO_UDP = 17;

export const ETH_DST = 0;
export const ETH_SRC = 6;
export const ETH_TYPE = 12;
export const IP_VERSION_IHL = ETH_HEADER + 0;
export const IP_TOTAL_LENGTH = ETH_HEADER + 2;
export const IP_FLAGS_FRAGMENT = ETH_HEADER + 6;
export const IP_PROTOCOL = ETH_HEADER + 9;
export const IP_CHECKSUM = ETH_HEADER + 10;
export const IP_SRC = ETH_HEADER + 12;
export const IP_DST = ETH_HEADER + 16;

/**
 * Length of the IPv4 header if `data` holds a well-formed IPv4 packet within `length` bytes (version 4, IHL >= 5,
 * total length covering the header and within the frame), else 0.
 */
export function ipv4HeaderLength(data: DataView, length: number): number {
  if (length < ETH_HEADER + IPV4_MIN_HEADER) return 0;
  if (data.getUint16(ETH_TYPE) !== ETHERTYPE_IPV4) return 0;
  const vihl = data.getUint8(IP_VERSION_IHL);
  const ihl = (vihl & 0x0f) * 4;
  if (vihl >>> 4 !== 4 || ihl < IPV4_MIN_HEADER) return 0;
  const total = data.getUint16(IP_TOTAL_LENGTH);
  if (total < ihl || ETH_HEADER + total > length) return 0;
  return ihl;
}

/** Whether the IPv4 packet is a fragment (MF set or non-zero offset): its L4 header may be absent. */
export function isFragment(data: DataView): boolean {
  return (data.getUint16(IP_FLAGS_FRAGMENT) & 0x3fff) !== 0;
}

/** RFC 1071 Internet checksum of bytes [offset, offset + length) of `bytes`, as stored in the header. */
export function internetChecksum(bytes: Uint8Array, offset: number, length: number): number {
  let sum = 0;
  let i = offset;
  const end = offset + length;
  for (; i + 1 < end; i += 2) sum += (bytes[i] << 8) | bytes[i + 1];
  if (i < end) sum += bytes[i] << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}
