// Overlay headers: VXLAN (RFC 7348), GRE (RFC 2784 with the key and sequence extensions of RFC 2890) and Geneve
// (RFC 8926). Offsets are relative to the overlay header (`at`: after the outer UDP header for VXLAN and Geneve,
// after the outer IP header for GRE); `end` is where the outer IP packet ends.
import { BAD_TUNNEL, TRUNCATED_TUNNEL } from './malformed';

export const VXLAN_PORT = 4789; // RFC 7348 Section 5, IANA-assigned
export const VXLAN_HEADER = 8;
/** VXLAN flags byte: the I flag (valid VNI); the other seven bits are reserved (RFC 7348 Section 5). */
export const VXLAN_FLAG_I = 0x08;

export const GRE_HEADER = 4;
/** GRE flags and version word (RFC 2784 Section 2, RFC 2890 Section 2). */
export const GRE_FLAG_C = 0x8000; // checksum (and reserved1) present
export const GRE_FLAG_R = 0x4000; // routing present (RFC 1701; must be 0 under RFC 2784)
export const GRE_FLAG_K = 0x2000; // key present (RFC 2890)
export const GRE_FLAG_S = 0x1000; // sequence number present (RFC 2890)
/** RFC 2784: a receiver discards a packet with any of bits 1-5 set; RFC 2890 gives meaning to bits 2 (K) and 3 (S). */
export const GRE_FLAGS_REJECTED = 0x4000 | 0x0800 | 0x0400;
export const GRE_VERSION_MASK = 0x0007;

export const GENEVE_PORT = 6081; // RFC 8926 Section 3.3
export const GENEVE_HEADER = 8;

/** VXLAN_HEADER if a VXLAN header is at `at` within `end` with the I flag set, else malformed. */
export function vxlanCheck(d: DataView, at: number, end: number): number {
  if (at + VXLAN_HEADER > end) return TRUNCATED_TUNNEL;
  if ((d.getUint8(at) & VXLAN_FLAG_I) === 0) return BAD_TUNNEL;
  return VXLAN_HEADER;
}
/** The 24-bit VXLAN network identifier. */
export function vxlanVni(d: DataView, at: number): number {
  return d.getUint32(at + 4) >>> 8;
}

/**
 * The GRE header length (4 plus 4 for each of C, K, S) if a version-0 GRE header with no routing is at `at` within
 * `end`, else malformed. The payload's EtherType is greProtocol().
 */
export function greCheck(d: DataView, at: number, end: number): number {
  if (at + GRE_HEADER > end) return TRUNCATED_TUNNEL;
  const fv = d.getUint16(at);
  if ((fv & GRE_VERSION_MASK) !== 0 || (fv & GRE_FLAGS_REJECTED) !== 0) return BAD_TUNNEL;
  const len = GRE_HEADER + ((fv & GRE_FLAG_C) !== 0 ? 4 : 0) + ((fv & GRE_FLAG_K) !== 0 ? 4 : 0) + ((fv & GRE_FLAG_S) !== 0 ? 4 : 0);
  if (at + len > end) return TRUNCATED_TUNNEL;
  return len;
}
export function greProtocol(d: DataView, at: number): number {
  return d.getUint16(at + 2);
}
/** The GRE key (RFC 2890), or -1 if the K bit is clear. */
export function greKey(d: DataView, at: number): number {
  const fv = d.getUint16(at);
  if ((fv & GRE_FLAG_K) === 0) return -1;
  return d.getUint32(at + GRE_HEADER + ((fv & GRE_FLAG_C) !== 0 ? 4 : 0));
}

/** The Geneve header length (8 + options) if a version-0 Geneve header is at `at` within `end`, else malformed. */
export function geneveCheck(d: DataView, at: number, end: number): number {
  if (at + GENEVE_HEADER > end) return TRUNCATED_TUNNEL;
  const b = d.getUint8(at);
  if (b >>> 6 !== 0) return BAD_TUNNEL;
  const len = GENEVE_HEADER + (b & 0x3f) * 4;
  if (at + len > end) return TRUNCATED_TUNNEL;
  return len;
}
export function geneveProtocol(d: DataView, at: number): number {
  return d.getUint16(at + 2);
}
export function geneveVni(d: DataView, at: number): number {
  return d.getUint32(at + 4) >>> 8;
}

/** L2TP version 2 (RFC 2661 Section 3.1) over UDP port 1701: flags/version word, then optional fields. */
export const L2TP_PORT = 1701;
export const L2TP_FLAG_T = 0x8000; // control message
export const L2TP_FLAG_L = 0x4000; // length present
export const L2TP_FLAG_S = 0x0800; // Ns and Nr present
export const L2TP_FLAG_O = 0x0200; // offset size present
export const L2TP_VERSION_MASK = 0x000f;

/**
 * The L2TPv2 header length (to the PPP frame of a data message) if a version-2 header is at `at` within `end`,
 * else malformed. Tunnel and session IDs follow the flags word and the optional length.
 */
export function l2tpCheck(d: DataView, at: number, end: number): number {
  if (at + 6 > end) return TRUNCATED_TUNNEL;
  const fv = d.getUint16(at);
  if ((fv & L2TP_VERSION_MASK) !== 2) return BAD_TUNNEL;
  let i = at + 2 + ((fv & L2TP_FLAG_L) !== 0 ? 2 : 0) + 4 + ((fv & L2TP_FLAG_S) !== 0 ? 4 : 0);
  if ((fv & L2TP_FLAG_O) !== 0) {
    if (i + 2 > end) return TRUNCATED_TUNNEL;
    i += 2 + d.getUint16(i);
  }
  if (i > end) return TRUNCATED_TUNNEL;
  return i - at;
}
/** Tunnel and session IDs of the L2TPv2 header at `at`. */
export function l2tpTunnelId(d: DataView, at: number): number {
  return d.getUint16(at + ((d.getUint16(at) & L2TP_FLAG_L) !== 0 ? 4 : 2));
}
export function l2tpSessionId(d: DataView, at: number): number {
  return d.getUint16(at + ((d.getUint16(at) & L2TP_FLAG_L) !== 0 ? 6 : 4));
}
