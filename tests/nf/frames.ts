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
