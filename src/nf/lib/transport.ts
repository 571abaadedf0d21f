// UDP (RFC 768), TCP (RFC 9293, options included) and the SCTP common header's ports (RFC 9260 Section 3.1).
// Offsets are relative to the transport header (`at`); `end` is where the IP packet ends (IPv4 total length or IPv6
// payload length from the IP header, not the frame length, which may include Ethernet padding).
import { BAD_TCP_DATA_OFFSET, BAD_TCP_OPTIONS, BAD_UDP_LENGTH, TRUNCATED_SCTP, TRUNCATED_TCP, TRUNCATED_UDP } from './malformed';

export const UDP_HEADER = 8;
export const UDP_SRC_PORT = 0;
export const UDP_DST_PORT = 2;
export const UDP_LENGTH = 4;
export const UDP_CHECKSUM = 6;

export const TCP_MIN_HEADER = 20;
export const TCP_SRC_PORT = 0;
export const TCP_DST_PORT = 2;
export const TCP_SEQ = 4;
export const TCP_ACK = 8;
export const TCP_DATA_OFFSET = 12;
export const TCP_FLAGS = 13;
export const TCP_WINDOW = 14;
export const TCP_CHECKSUM = 16;
export const TCP_URGENT = 18;
export const TCP_FIN = 0x01;
export const TCP_SYN = 0x02;
export const TCP_RST = 0x04;
export const TCP_PSH = 0x08;
export const TCP_ACK_FLAG = 0x10;
export const TCP_URG = 0x20;
/** TCP option kinds (IANA "TCP Option Kind Numbers"). */
export const TCP_OPTION_EOL = 0;
export const TCP_OPTION_NOP = 1;
export const TCP_OPTION_MSS = 2;
export const TCP_OPTION_WINDOW_SCALE = 3;
export const TCP_OPTION_SACK_PERMITTED = 4;
export const TCP_OPTION_SACK = 5;
export const TCP_OPTION_TIMESTAMP = 8;

export const SCTP_COMMON_HEADER = 12;

/** Source and destination ports, both transports alike (the first 4 bytes of UDP, TCP and SCTP). */
export function srcPort(d: DataView, at: number): number {
  return d.getUint16(at);
}
export function dstPort(d: DataView, at: number): number {
  return d.getUint16(at + 2);
}

/** UDP_HEADER if a UDP header at `at` lies within `end` and its length field is 8..(end - at), else malformed. */
export function udpCheck(d: DataView, at: number, end: number): number {
  if (at + UDP_HEADER > end) return TRUNCATED_UDP;
  const len = d.getUint16(at + UDP_LENGTH);
  if (len < UDP_HEADER || at + len > end) return BAD_UDP_LENGTH;
  return UDP_HEADER;
}

/** The TCP header length (20..60) if a TCP header at `at` lies within `end`, else malformed. Options are not walked. */
export function tcpCheck(d: DataView, at: number, end: number): number {
  if (at + TCP_MIN_HEADER > end) return TRUNCATED_TCP;
  const hl = (d.getUint8(at + TCP_DATA_OFFSET) >>> 4) * 4;
  if (hl < TCP_MIN_HEADER || at + hl > end) return BAD_TCP_DATA_OFFSET;
  return hl;
}

export function tcpHeaderLength(d: DataView, at: number): number {
  return (d.getUint8(at + TCP_DATA_OFFSET) >>> 4) * 4;
}
export function tcpFlags(d: DataView, at: number): number {
  return d.getUint8(at + TCP_FLAGS);
}
export function tcpSeq(d: DataView, at: number): number {
  return d.getUint32(at + TCP_SEQ);
}
export function tcpAck(d: DataView, at: number): number {
  return d.getUint32(at + TCP_ACK);
}

/**
 * Offset of the first option of `kind` in the TCP header at `at` (tcpCheck() passed), -1 if absent, or
 * BAD_TCP_OPTIONS if the list is malformed before it (RFC 9293 Section 3.1: EOL and NOP are one byte, every other
 * option has a length byte >= 2 that stays within the header).
 */
export function tcpFindOption(d: DataView, at: number, kind: number): number {
  const end = at + tcpHeaderLength(d, at);
  let i = at + TCP_MIN_HEADER;
  while (i < end) {
    const k = d.getUint8(i);
    if (k === TCP_OPTION_EOL) return kind === TCP_OPTION_EOL ? i : -1;
    if (k === TCP_OPTION_NOP) {
      if (kind === TCP_OPTION_NOP) return i;
      i++;
      continue;
    }
    if (i + 1 >= end) return BAD_TCP_OPTIONS;
    const len = d.getUint8(i + 1);
    if (len < 2 || i + len > end) return BAD_TCP_OPTIONS;
    if (k === kind) return i;
    i += len;
  }
  return -1;
}

/** 0 if every TCP option lies within the header, else BAD_TCP_OPTIONS. */
export function tcpOptionsCheck(d: DataView, at: number): number {
  return tcpFindOption(d, at, -1) === BAD_TCP_OPTIONS ? BAD_TCP_OPTIONS : 0;
}

/** The MSS option's value, or -1 if absent or malformed (it must be 4 bytes long). */
export function tcpMss(d: DataView, at: number): number {
  const o = tcpFindOption(d, at, TCP_OPTION_MSS);
  return o < 0 || d.getUint8(o + 1) !== 4 ? -1 : d.getUint16(o + 2);
}

/** The window-scale option's shift count, or -1 if absent or malformed (3 bytes long). */
export function tcpWindowScale(d: DataView, at: number): number {
  const o = tcpFindOption(d, at, TCP_OPTION_WINDOW_SCALE);
  return o < 0 || d.getUint8(o + 1) !== 3 ? -1 : d.getUint8(o + 2);
}

/** SCTP_COMMON_HEADER if the SCTP common header at `at` lies within `end`, else TRUNCATED_SCTP. */
export function sctpCheck(_d: DataView, at: number, end: number): number {
  return at + SCTP_COMMON_HEADER > end ? TRUNCATED_SCTP : SCTP_COMMON_HEADER;
}
