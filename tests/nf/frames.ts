// Frames for NF tests. They are built with the packet library's builder (src/nf/lib/build.ts, itself checked byte for
// byte against hand-written frames in tests/nf/lib/headers.test.ts and against tshark in tests/cli/decode.test.ts);
// the checks below (checksumOf, l4ChecksumOf, ipv4HeaderChecksumValid) are computed here from scratch, independently
// of src/nf, so a test that verifies an NF's checksums does not use the library's checksum code.
import { frame, pattern } from '../../src/nf/lib/build';

export function ipv4(text: string): number {
  const p = text.split('.').map(Number);
  return ((p[0] << 24) | (p[1] << 16) | (p[2] << 8) | p[3]) >>> 0;
}

function checksum(bytes: Uint8Array, start: number, end: number): number {
  let sum = 0;
  for (let i = start; i < end; i += 2) sum += (bytes[i] << 8) | (i + 1 < end ? bytes[i + 1] : 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** An Ethernet/IPv4/UDP frame of `size` bytes (no FCS), valid IPv4 checksum, UDP checksum 0, a 32-bit tag at 42. */
export function udpFrame(opts: { src?: string; dst: string; sport?: number; dport?: number; size?: number; tag?: number }): Uint8Array {
  const size = opts.size ?? 60;
  const payload = new Uint8Array(Math.max(0, size - 42));
  if (size >= 46) new DataView(payload.buffer).setUint32(0, opts.tag ?? 0);
  return frame().eth().ipv4({ src: opts.src ?? '10.1.0.2', dst: opts.dst }).udp({ sport: opts.sport ?? 1234, dport: opts.dport ?? 80, noChecksum: true }).payload(payload).build();
}

export function ipv4HeaderChecksumValid(f: Uint8Array): boolean {
  return checksum(f, 14, 14 + (f[14] & 0x0f) * 4) === 0;
}

export function arpFrame(): Uint8Array {
  const f = new Uint8Array(60);
  f.fill(0xff, 0, 6);
  f.set([2, 0, 0, 0, 0, 9], 6);
  f[12] = 0x08;
  f[13] = 0x06;
  return f;
}

/** RFC 1071 checksum of bytes [start, end) computed here from scratch (0 when a stored checksum inside is right). */
export function checksumOf(bytes: Uint8Array, start: number, end: number): number {
  return checksum(bytes, start, end);
}

/**
 * An Ethernet/IPv4 frame (no options) carrying `payload` with IP protocol `proto`, header checksum computed here.
 * For tunnel tests: `flagsFragment` sets the flags/fragment-offset word.
 */
export function ipv4Frame(opts: { src: string; dst: string; proto: number; payload: Uint8Array; ttl?: number; flagsFragment?: number; dstMac?: number[]; srcMac?: number[] }): Uint8Array {
  return frame()
    .eth({ dst: macText(opts.dstMac ?? [2, 0, 0, 0, 0, 0x0b]), src: macText(opts.srcMac ?? [2, 0, 0, 0, 0, 0x0a]) })
    .ipv4({ src: opts.src, dst: opts.dst, protocol: opts.proto, ttl: opts.ttl ?? 64, flagsFragment: opts.flagsFragment ?? 0 })
    .payload(opts.payload)
    .build();
}

/**
 * The TCP or UDP checksum of an IPv4 frame recomputed here from scratch over the pseudo-header (RFC 793, RFC 768)
 * and the segment up to the IPv4 total length: 0 when the stored checksum is right.
 */
export function l4ChecksumOf(f: Uint8Array): number {
  const ihl = (f[14] & 0x0f) * 4;
  const total = (f[16] << 8) | f[17];
  const l4 = 14 + ihl;
  const len = total - ihl;
  const p = new Uint8Array(12 + len);
  p.set(f.subarray(26, 34), 0);
  p[9] = f[23];
  p[10] = len >> 8;
  p[11] = len & 0xff;
  p.set(f.subarray(l4, l4 + len), 12);
  return checksum(p, 0, p.length);
}

/** Fill in the TCP or UDP checksum of an IPv4 frame, computed here (a computed UDP 0 is sent as 0xffff). */
export function withL4Checksum(f: Uint8Array): Uint8Array {
  const at = 14 + (f[14] & 0x0f) * 4 + (f[23] === 6 ? 16 : 6);
  f[at] = 0;
  f[at + 1] = 0;
  let c = l4ChecksumOf(f);
  if (c === 0 && f[23] === 17) c = 0xffff;
  f[at] = c >> 8;
  f[at + 1] = c & 0xff;
  return f;
}

/** An Ethernet/IPv4/TCP frame (20-byte TCP header, `payload` bytes after it) with both checksums computed here. */
export function tcpFrame(opts: { src: string; dst: string; sport: number; dport: number; payload?: number; seed?: number; flags?: number }): Uint8Array {
  return frame()
    .eth()
    .ipv4({ src: opts.src, dst: opts.dst })
    .tcp({ sport: opts.sport, dport: opts.dport, seq: 0x01020304 + (opts.seed ?? 0), ack: 0x0a0b0c0d, flags: opts.flags ?? 0x18, window: 64240 }) // PSH ACK
    .payload(pattern(opts.payload ?? 26, opts.seed ?? 0))
    .build();
}

/** An Ethernet/IPv4/UDP frame with `payload` bytes after the header; UDP checksum computed here unless `noChecksum`. */
export function udpChecksummedFrame(opts: { src: string; dst: string; sport: number; dport: number; payload?: number; seed?: number; noChecksum?: boolean }): Uint8Array {
  return frame()
    .eth()
    .ipv4({ src: opts.src, dst: opts.dst })
    .udp({ sport: opts.sport, dport: opts.dport, noChecksum: opts.noChecksum === true })
    .payload(pattern(opts.payload ?? 18, opts.seed ?? 0))
    .build();
}

/** An Ethernet/IPv4/ICMP frame (RFC 792): `type` 8 = echo request (default), 0 = echo reply; checksum computed here. */
export function icmpFrame(opts: { src: string; dst: string; type?: number; code?: number; id?: number; seq?: number; payload?: number; seed?: number }): Uint8Array {
  return frame()
    .eth()
    .ipv4({ src: opts.src, dst: opts.dst })
    .icmp({ type: opts.type ?? 8, code: opts.code ?? 0, id: opts.id ?? 0, seq: opts.seq ?? 0 })
    .payload(pattern(opts.payload ?? 18, opts.seed ?? 0))
    .build();
}

/** Recompute the IPv4 header checksum of a frame here (after a test changed a header field). */
export function fixIpv4Checksum(f: Uint8Array): Uint8Array {
  f[24] = 0;
  f[25] = 0;
  const c = checksum(f, 14, 14 + (f[14] & 0x0f) * 4);
  f[24] = c >> 8;
  f[25] = c & 0xff;
  return f;
}

/** A MAC address "02:00:00:00:00:01" as bytes. */
export function macBytes(text: string): number[] {
  return text.split(':').map((h) => parseInt(h, 16));
}

/** A MAC address as "02:00:00:00:00:01". */
export function macText(bytes: ArrayLike<number>): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(':');
}

/** A 60-byte Ethernet frame from `src` to `dst` (EtherType 0x88b5, local experimental) carrying a 32-bit tag. */
export function etherFrame(dst: string, src: string, tag = 0, size = 60): Uint8Array {
  const payload = new Uint8Array(Math.max(4, size - 14));
  new DataView(payload.buffer).setUint32(0, tag);
  return frame().eth({ dst, src, type: 0x88b5 }).payload(payload).build();
}

/** An ARP request (RFC 826) from `senderMac`/`senderIp` for `targetIp`, broadcast, or the matching unicast reply. */
export function arpPacket(opts: { op: 'request' | 'reply'; senderMac: string; senderIp: string; targetMac?: string; targetIp: string }): Uint8Array {
  const target = opts.targetMac ?? '00:00:00:00:00:00';
  return frame()
    .eth({ dst: opts.op === 'request' ? 'ff:ff:ff:ff:ff:ff' : target, src: opts.senderMac })
    .arp({ op: opts.op, senderMac: opts.senderMac, senderIp: opts.senderIp, targetMac: target, targetIp: opts.targetIp })
    .padTo(60)
    .build();
}
