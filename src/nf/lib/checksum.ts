// Internet checksum arithmetic for rewriting header fields in place (RFC 1071, RFC 1624). No allocation: every
// function takes and returns plain numbers.
//
// A checksum field holds the one's complement of the one's complement sum of 16-bit words. When words of the
// covered data change from m to m', RFC 1624 eqn. 3 gives the new field from the old one without touching the
// rest of the data:   HC' = ~(~HC + ~m + m')
// (eqn. 3 rather than eqn. 2 of RFC 1141, which can produce -0 where +0 is due and vice versa). Because the sum is
// linear, m and m' may be the folded sums of several changed words (an address and a port, as NAT changes both,
// and the TCP/UDP pseudo-header includes the addresses).

/** Fold a non-negative sum of 16-bit words (< 2^31) to 16 bits with end-around carries. */
export function fold16(sum: number): number {
  sum = (sum & 0xffff) + (sum >>> 16);
  sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}

/** One's complement sum of the two 16-bit halves of a 32-bit value (e.g. an IPv4 address), folded. */
export function sum32(value: number): number {
  return fold16((value >>> 16) + (value & 0xffff));
}

/**
 * RFC 1624 eqn. 3: the checksum field after the covered data whose folded one's complement sum was `oldSum`
 * changed to data summing to `newSum` (both 0..0xffff).
 */
export function checksumReplace(checksum: number, oldSum: number, newSum: number): number {
  return ~fold16((~checksum & 0xffff) + (~oldSum & 0xffff) + newSum) & 0xffff;
}

/** The checksum field after one 16-bit word changed from `oldWord` to `newWord`. */
export function checksumReplace16(checksum: number, oldWord: number, newWord: number): number {
  return checksumReplace(checksum, oldWord & 0xffff, newWord & 0xffff);
}

/** The checksum field after one 32-bit value (two words, e.g. an IPv4 address) changed. */
export function checksumReplace32(checksum: number, oldValue: number, newValue: number): number {
  return checksumReplace(checksum, sum32(oldValue), sum32(newValue));
}

/**
 * The TCP/UDP checksum field after the segment's address (in the pseudo-header, RFC 793 / RFC 768) and port both
 * changed: one update for the three words.
 */
export function checksumReplaceAddressPort(checksum: number, oldAddress: number, oldPort: number, newAddress: number, newPort: number): number {
  return checksumReplace(checksum, fold16(sum32(oldAddress) + oldPort), fold16(sum32(newAddress) + newPort));
}

/**
 * A UDP checksum field after an update: RFC 768 transmits a computed checksum of zero as all ones, since zero
 * in the field means "no checksum". (Eqn. 3 yields 0x0000 when the data sums to -0; 0xffff is the same value.)
 */
export function udpChecksumField(computed: number): number {
  return computed === 0 ? 0xffff : computed;
}

/**
 * Whether the IPv4 header of `ihl` bytes (a multiple of 4) at `offset` of `data` has a correct header checksum
 * (RFC 791, RFC 1071: the one's complement sum of the header, checksum included, is all ones). Reads 32-bit words.
 */
export function ipv4HeaderChecksumValid(data: DataView, offset: number, ihl: number): boolean {
  let sum = 0;
  for (let i = 0; i < ihl; i += 4) {
    const w = data.getUint32(offset + i);
    sum += (w >>> 16) + (w & 0xffff);
  }
  return fold16(sum) === 0xffff;
}

/**
 * One's complement sum (RFC 1071 Section 4.1) of the 16-bit big-endian words of bytes [offset, offset + length),
 * an odd last byte padded with zero; unfolded (fold16() it, or pass it on as a partial sum).
 */
export function onesComplementSum(bytes: Uint8Array, offset: number, length: number): number {
  let sum = 0;
  let i = offset;
  const end = offset + length;
  for (; i + 1 < end; i += 2) {
    sum += (bytes[i] << 8) | bytes[i + 1];
    if (sum > 0x3fffffff) sum = (sum & 0xffff) + (sum >>> 16);
  }
  if (i < end) sum += bytes[i] << 8;
  return sum;
}

/** The Internet checksum (RFC 1071) of bytes [offset, offset + length) plus a partial sum, as stored in a header. */
export function internetChecksum(bytes: Uint8Array, offset: number, length: number, partial = 0): number {
  return ~fold16(fold16(onesComplementSum(bytes, offset, length)) + fold16(partial)) & 0xffff;
}

/** Partial sum of the IPv4 pseudo-header (RFC 768, RFC 9293 Section 3.1): addresses, protocol, transport length. */
export function ipv4PseudoHeaderSum(src: number, dst: number, protocol: number, length: number): number {
  return (src >>> 16) + (src & 0xffff) + (dst >>> 16) + (dst & 0xffff) + protocol + length;
}

/**
 * Partial sum of the IPv6 pseudo-header (RFC 8200 Section 8.1) of the IPv6 header at `ip` of `bytes`: both
 * addresses, the upper-layer length and Next Header value (the upper-layer protocol, after extension headers).
 * (With a Routing header the final destination belongs here instead; this uses the header's destination.)
 */
export function ipv6PseudoHeaderSum(bytes: Uint8Array, ip: number, protocol: number, length: number): number {
  return onesComplementSum(bytes, ip + 8, 32) + (length >>> 16) + (length & 0xffff) + protocol;
}

/** The IPv4 header checksum to store for the header of `ihl` bytes at `ip` (its checksum field is counted as 0). */
export function ipv4HeaderChecksum(bytes: Uint8Array, ip: number, ihl: number): number {
  // Subtracting a word in one's complement arithmetic is adding its complement.
  const sum = onesComplementSum(bytes, ip, ihl) + (~((bytes[ip + 10] << 8) | bytes[ip + 11]) & 0xffff);
  return ~fold16(sum) & 0xffff;
}

/**
 * The TCP/UDP checksum to store for the transport segment [l4, end) of the IPv4 packet at `ip`, whose checksum field
 * is at `l4 + field` (counted as 0). For UDP pass the result through udpChecksumField().
 */
export function ipv4TransportChecksum(bytes: Uint8Array, ip: number, l4: number, end: number, field: number): number {
  const src = ((bytes[ip + 12] << 24) | (bytes[ip + 13] << 16) | (bytes[ip + 14] << 8) | bytes[ip + 15]) >>> 0;
  const dst = ((bytes[ip + 16] << 24) | (bytes[ip + 17] << 16) | (bytes[ip + 18] << 8) | bytes[ip + 19]) >>> 0;
  const pseudo = ipv4PseudoHeaderSum(src, dst, bytes[ip + 9], end - l4);
  const sum = onesComplementSum(bytes, l4, end - l4) + (~((bytes[l4 + field] << 8) | bytes[l4 + field + 1]) & 0xffff) + fold16(pseudo);
  return ~fold16(sum) & 0xffff;
}

/**
 * The TCP/UDP/ICMPv6 checksum to store for the upper-layer segment [l4, end) of protocol `protocol` in the IPv6
 * packet at `ip`, whose checksum field is at `l4 + field` (counted as 0).
 */
export function ipv6TransportChecksum(bytes: Uint8Array, ip: number, protocol: number, l4: number, end: number, field: number): number {
  const sum = onesComplementSum(bytes, l4, end - l4) + (~((bytes[l4 + field] << 8) | bytes[l4 + field + 1]) & 0xffff) + fold16(ipv6PseudoHeaderSum(bytes, ip, protocol, end - l4));
  return ~fold16(sum) & 0xffff;
}
