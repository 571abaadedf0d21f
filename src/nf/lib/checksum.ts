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
