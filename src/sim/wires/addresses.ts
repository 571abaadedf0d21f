// Parsing of the addresses a user writes in wire descriptions (MAC, IPv4), and the Internet checksum
// arithmetic (RFC 1071) the traffic generator uses to build valid headers. Not on a per-packet path except
// `onesComplementFold`, which is allocation-free.
import { TinyNfError } from '../../env/environment';

/** "02:00:00:00:00:01" (or with '-') -> 6 bytes. */
export function parseMac(text: string): Uint8Array {
  const parts = text.trim().split(/[:-]/);
  if (parts.length !== 6 || parts.some((p) => !/^[0-9a-fA-F]{1,2}$/.test(p))) {
    throw new TinyNfError(`malformed MAC address '${text}': expected six hex bytes, e.g. 02:00:00:00:00:01`);
  }
  return Uint8Array.from(parts.map((p) => parseInt(p, 16)));
}

/** 6 bytes -> "02:00:00:00:00:01". */
export function formatMac(bytes: Uint8Array, offset = 0): string {
  const out: string[] = [];
  for (let i = 0; i < 6; i++) out.push(bytes[offset + i].toString(16).padStart(2, '0'));
  return out.join(':');
}

/** "10.0.0.1" -> 0x0a000001 (an unsigned 32-bit number). */
export function parseIpv4(text: string): number {
  const parts = text.trim().split('.');
  if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255)) {
    throw new TinyNfError(`malformed IPv4 address '${text}': expected four decimal bytes, e.g. 10.0.0.1`);
  }
  return parts.reduce((acc, p) => acc * 256 + Number(p), 0);
}

/** 0x0a000001 -> "10.0.0.1". */
export function formatIpv4(value: number): string {
  return [value >>> 24, (value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff].join('.');
}

/** Sum of the big-endian 16-bit words of bytes[start, end) (an odd last byte is padded with zero), unfolded. */
export function onesComplementSum(bytes: Uint8Array, start: number, end: number): number {
  let sum = 0;
  let i = start;
  for (; i + 1 < end; i += 2) sum += (bytes[i] << 8) | bytes[i + 1];
  if (i < end) sum += bytes[i] << 8;
  return sum;
}

/** Fold an unfolded ones-complement sum (any non-negative number below 2^53) into 16 bits. */
export function onesComplementFold(sum: number): number {
  // Two folds of the high part suffice for sums below 2^32; loop for larger ones.
  while (sum > 0xffff) sum = (sum % 0x10000) + Math.floor(sum / 0x10000);
  return sum;
}
