// Frame builders for NF tests, written independently of src/nf (checksums recomputed here from scratch).

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

/** An Ethernet/IPv4/UDP frame of `size` bytes (no FCS) with valid IPv4 and UDP checksums. */
export function udpFrame(opts: { src?: string; dst: string; sport?: number; dport?: number; size?: number; tag?: number }): Uint8Array {
  const size = opts.size ?? 60;
  const f = new Uint8Array(size);
  const v = new DataView(f.buffer);
  f.set([2, 0, 0, 0, 0, 2], 0);
  f.set([2, 0, 0, 0, 0, 1], 6);
  v.setUint16(12, 0x0800);
  v.setUint8(14, 0x45);
  v.setUint16(16, size - 14);
  v.setUint8(22, 64);
  v.setUint8(23, 17);
  v.setUint32(26, ipv4(opts.src ?? '10.1.0.2'));
  v.setUint32(30, ipv4(opts.dst));
  v.setUint16(24, checksum(f, 14, 34));
  v.setUint16(34, opts.sport ?? 1234);
  v.setUint16(36, opts.dport ?? 80);
  v.setUint16(38, size - 34);
  if (size >= 46) v.setUint32(42, opts.tag ?? 0);
  return f;
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
  const f = new Uint8Array(34 + opts.payload.length);
  const v = new DataView(f.buffer);
  f.set(opts.dstMac ?? [2, 0, 0, 0, 0, 0x0b], 0);
  f.set(opts.srcMac ?? [2, 0, 0, 0, 0, 0x0a], 6);
  v.setUint16(12, 0x0800);
  v.setUint8(14, 0x45);
  v.setUint16(16, 20 + opts.payload.length);
  v.setUint16(20, opts.flagsFragment ?? 0);
  v.setUint8(22, opts.ttl ?? 64);
  v.setUint8(23, opts.proto);
  v.setUint32(26, ipv4(opts.src));
  v.setUint32(30, ipv4(opts.dst));
  v.setUint16(24, checksum(f, 14, 34));
  f.set(opts.payload, 34);
  return f;
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

/** Payload bytes that differ per position and seed. */
function pattern(n: number, seed: number): Uint8Array {
  const p = new Uint8Array(n);
  for (let i = 0; i < n; i++) p[i] = (i * 31 + seed * 7 + 3) & 0xff;
  return p;
}

/** An Ethernet/IPv4/TCP frame (20-byte TCP header, `payload` bytes after it) with both checksums computed here. */
export function tcpFrame(opts: { src: string; dst: string; sport: number; dport: number; payload?: number; seed?: number; flags?: number }): Uint8Array {
  const seg = new Uint8Array(20 + (opts.payload ?? 26));
  const v = new DataView(seg.buffer);
  v.setUint16(0, opts.sport);
  v.setUint16(2, opts.dport);
  v.setUint32(4, 0x01020304 + (opts.seed ?? 0));
  v.setUint32(8, 0x0a0b0c0d);
  seg[12] = 5 << 4;
  seg[13] = opts.flags ?? 0x18; // PSH ACK
  v.setUint16(14, 64240);
  seg.set(pattern(seg.length - 20, opts.seed ?? 0), 20);
  return withL4Checksum(ipv4Frame({ src: opts.src, dst: opts.dst, proto: 6, payload: seg, dstMac: [2, 0, 0, 0, 0, 2], srcMac: [2, 0, 0, 0, 0, 1] }));
}

/** An Ethernet/IPv4/UDP frame with `payload` bytes after the header; UDP checksum computed here unless `noChecksum`. */
export function udpChecksummedFrame(opts: { src: string; dst: string; sport: number; dport: number; payload?: number; seed?: number; noChecksum?: boolean }): Uint8Array {
  const seg = new Uint8Array(8 + (opts.payload ?? 18));
  const v = new DataView(seg.buffer);
  v.setUint16(0, opts.sport);
  v.setUint16(2, opts.dport);
  v.setUint16(4, seg.length);
  seg.set(pattern(seg.length - 8, opts.seed ?? 0), 8);
  const f = ipv4Frame({ src: opts.src, dst: opts.dst, proto: 17, payload: seg, dstMac: [2, 0, 0, 0, 0, 2], srcMac: [2, 0, 0, 0, 0, 1] });
  return opts.noChecksum === true ? f : withL4Checksum(f);
}

/** An Ethernet/IPv4/ICMP frame (RFC 792): `type` 8 = echo request (default), 0 = echo reply; checksum computed here. */
export function icmpFrame(opts: { src: string; dst: string; type?: number; code?: number; id?: number; seq?: number; payload?: number; seed?: number }): Uint8Array {
  const msg = new Uint8Array(8 + (opts.payload ?? 18));
  const v = new DataView(msg.buffer);
  msg[0] = opts.type ?? 8;
  msg[1] = opts.code ?? 0;
  v.setUint16(4, opts.id ?? 0);
  v.setUint16(6, opts.seq ?? 0);
  msg.set(pattern(msg.length - 8, opts.seed ?? 0), 8);
  v.setUint16(2, checksum(msg, 0, msg.length));
  return ipv4Frame({ src: opts.src, dst: opts.dst, proto: 1, payload: msg, dstMac: [2, 0, 0, 0, 0, 2], srcMac: [2, 0, 0, 0, 0, 1] });
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
  const f = new Uint8Array(size);
  f.set(macBytes(dst), 0);
  f.set(macBytes(src), 6);
  f[12] = 0x88;
  f[13] = 0xb5;
  new DataView(f.buffer).setUint32(14, tag);
  return f;
}

/** An ARP request (RFC 826) from `senderMac`/`senderIp` for `targetIp`, broadcast, or the matching unicast reply. */
export function arpPacket(opts: { op: 'request' | 'reply'; senderMac: string; senderIp: string; targetMac?: string; targetIp: string }): Uint8Array {
  const f = new Uint8Array(60);
  const v = new DataView(f.buffer);
  const target = opts.targetMac ?? '00:00:00:00:00:00';
  f.set(opts.op === 'request' ? [0xff, 0xff, 0xff, 0xff, 0xff, 0xff] : macBytes(target), 0);
  f.set(macBytes(opts.senderMac), 6);
  v.setUint16(12, 0x0806);
  v.setUint16(14, 1); // Ethernet
  v.setUint16(16, 0x0800); // IPv4
  f[18] = 6;
  f[19] = 4;
  v.setUint16(20, opts.op === 'request' ? 1 : 2);
  f.set(macBytes(opts.senderMac), 22);
  v.setUint32(28, ipv4(opts.senderIp));
  f.set(macBytes(target), 32);
  v.setUint32(38, ipv4(opts.targetIp));
  return f;
}
