// Frame comparisons for the VM end-to-end tests: what one namespace's kernel sent (captured on its TAP) against what
// the other namespace's kernel received (captured on its TAP), byte for byte.
import { readPcap } from '../../src/sim/wires/pcap';

export interface Frame {
  bytes: Uint8Array;
}

export function macOf(text: string): Uint8Array {
  return Uint8Array.from(text.split(':').map((h) => Number.parseInt(h, 16)));
}

function sameBytes(a: Uint8Array, b: Uint8Array, start: number, length: number): boolean {
  for (let i = 0; i < length; i++) if (a[start + i] !== b[i]) return false;
  return true;
}

/** Frames of a pcap whose Ethernet source address is `src`. */
export function framesFrom(pcapFile: string, src: string): Uint8Array[] {
  const mac = macOf(src);
  return readPcap(pcapFile)
    .records.map((r) => r.data)
    .filter((d) => d.length >= 14 && sameBytes(d, mac, 6, 6));
}

export function hex(d: Uint8Array): string {
  return Buffer.from(d).toString('hex');
}

/** The 16-bit ones' complement sum of bytes [start, end), folded. */
function onesSum(d: Uint8Array, start: number, end: number, initial = 0): number {
  let sum = initial;
  for (let i = start; i + 1 < end; i += 2) sum += (d[i] << 8) | d[i + 1];
  if ((end - start) % 2 === 1) sum += d[end - 1] << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}

/** Whether an Ethernet/IPv4 frame's IPv4 header checksum and (for TCP/UDP) transport checksum are right. */
export function checksumsValid(d: Uint8Array): boolean {
  if (d.length < 34 || d[12] !== 0x08 || d[13] !== 0x00) return true; // not IPv4: nothing to check
  const ihl = (d[14] & 0x0f) * 4;
  if (onesSum(d, 14, 14 + ihl) !== 0xffff) return false;
  const proto = d[23];
  if (proto !== 6 && proto !== 17) return true;
  const total = (d[16] << 8) | d[17];
  const l4 = 14 + ihl;
  const l4len = total - ihl;
  if (proto === 17 && d[l4 + 6] === 0 && d[l4 + 7] === 0) return true; // UDP without checksum
  const pseudo = onesSum(d, 26, 34) + proto + l4len;
  return onesSum(d, l4, l4 + l4len, pseudo) === 0xffff;
}

/**
 * Compare sent and received frames pairwise: same count, same length, and differing only at `allowed` byte offsets
 * (none for an L2-transparent NF); returns a list of problems (empty when they match).
 */
export function compareFrames(sent: Uint8Array[], received: Uint8Array[], allowed: ReadonlySet<number> = new Set()): string[] {
  const problems: string[] = [];
  if (sent.length !== received.length) problems.push(`${sent.length} frames sent, ${received.length} received`);
  const n = Math.min(sent.length, received.length);
  for (let i = 0; i < n && problems.length < 5; i++) {
    const a = sent[i];
    const b = received[i];
    if (a.length !== b.length) {
      problems.push(`frame ${i}: ${a.length} bytes sent, ${b.length} received`);
      continue;
    }
    const diff: number[] = [];
    for (let k = 0; k < a.length; k++) if (a[k] !== b[k] && !allowed.has(k)) diff.push(k);
    if (diff.length > 0) problems.push(`frame ${i} differs at bytes ${diff.slice(0, 8).join(',')}: sent ${hex(a)} received ${hex(b)}`);
    if (allowed.size > 0 && !checksumsValid(b)) problems.push(`frame ${i}: bad checksum after translation: ${hex(b)}`);
  }
  return problems;
}

/** Byte offsets a source NAT may change in an Ethernet/IPv4/TCP frame without options: IPv4 checksum and source, TCP source port and checksum. */
export const SNAT_TCP_OFFSETS: ReadonlySet<number> = new Set([24, 25, 26, 27, 28, 29, 34, 35, 50, 51]);
/** The same for the reverse direction (destination address and port). */
export const DNAT_TCP_OFFSETS: ReadonlySet<number> = new Set([24, 25, 30, 31, 32, 33, 36, 37, 50, 51]);
