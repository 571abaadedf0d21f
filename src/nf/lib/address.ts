// Text forms of addresses: IPv4 dotted quads (RFC 791), IPv6 (RFC 4291 Section 2.2, printed as RFC 5952 Section 4
// recommends), MAC addresses (IEEE 802 colon or dash form) and CIDR prefixes. For configurations, tests and
// `tinynf decode`: these allocate and are not for the per-packet path (handlers read addresses as numbers with the
// header accessors).
import { TinyNfError } from '../../env/environment';

/** An IPv4 address "10.0.0.1" as an unsigned 32-bit number, or null if `text` is not one. */
export function parseIpv4(text: string): number | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (m === null) return null;
  let v = 0;
  for (let i = 1; i <= 4; i++) {
    const b = Number(m[i]);
    if (b > 255 || (m[i].length > 1 && m[i][0] === '0')) return null; // no leading zeros: "010" is octal to some parsers
    v = v * 256 + b;
  }
  return v;
}

/** An unsigned 32-bit IPv4 address as "10.0.0.1". */
export function formatIpv4(address: number): string {
  return `${address >>> 24}.${(address >>> 16) & 0xff}.${(address >>> 8) & 0xff}.${address & 0xff}`;
}

/** A MAC address "02:00:00:00:00:01" (or with dashes) as 6 bytes, or null if `text` is not one. */
export function parseMac(text: string): Uint8Array | null {
  if (!/^[0-9a-fA-F]{2}([:-][0-9a-fA-F]{2}){5}$/.test(text)) return null;
  return Uint8Array.from(text.split(/[:-]/).map((h) => parseInt(h, 16)));
}

/** Six bytes of `bytes` from `offset` as "02:00:00:00:00:01". */
export function formatMac(bytes: ArrayLike<number>, offset = 0): string {
  let s = '';
  for (let i = 0; i < 6; i++) s += (i > 0 ? ':' : '') + (bytes[offset + i] & 0xff).toString(16).padStart(2, '0');
  return s;
}

/** An IPv6 address (RFC 4291 Section 2.2 forms 1-3, including "::" and a trailing dotted IPv4) as 16 bytes, or null. */
export function parseIpv6(text: string): Uint8Array | null {
  if (text.length < 2 || text.length > 45) return null;
  let head = text;
  let tail = '';
  const dbl = text.indexOf('::');
  if (dbl >= 0) {
    if (text.indexOf('::', dbl + 1) >= 0) return null;
    head = text.slice(0, dbl);
    tail = text.slice(dbl + 2);
  }
  const groups = (part: string): number[] | null => {
    if (part === '') return [];
    const out: number[] = [];
    const pieces = part.split(':');
    for (let i = 0; i < pieces.length; i++) {
      const p = pieces[i];
      if (i === pieces.length - 1 && p.includes('.')) {
        const v4 = parseIpv4(p);
        if (v4 === null) return null;
        out.push(v4 >>> 16, v4 & 0xffff);
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(p)) return null;
        out.push(parseInt(p, 16));
      }
    }
    return out;
  };
  const h = groups(head);
  const t = dbl >= 0 ? groups(tail) : [];
  if (h === null || t === null) return null;
  if (dbl >= 0 ? h.length + t.length > 7 : h.length !== 8) return null;
  if (dbl >= 0 && head.includes('.')) return null; // an embedded IPv4 address only ends an address
  const words = [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t];
  const out = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    out[2 * i] = words[i] >>> 8;
    out[2 * i + 1] = words[i] & 0xff;
  }
  return out;
}

/**
 * 16 bytes of `bytes` from `offset` as RFC 5952 text: lower case, leading zeros dropped, the longest run of two or
 * more zero groups (the first if tied) as "::". (Like inet_ntop and tshark, except that those also print
 * IPv4-mapped addresses with a dotted tail; this never does.)
 */
export function formatIpv6(bytes: ArrayLike<number>, offset = 0): string {
  const w: number[] = [];
  for (let i = 0; i < 8; i++) w.push(((bytes[offset + 2 * i] & 0xff) << 8) | (bytes[offset + 2 * i + 1] & 0xff));
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (w[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && w[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = (a: number[]) => a.map((x) => x.toString(16)).join(':');
  if (bestStart < 0) return hex(w);
  return `${hex(w.slice(0, bestStart))}::${hex(w.slice(bestStart + bestLength))}`;
}

/** A CIDR prefix "10.0.0.0/8" (host bits must be zero) as [address, length], or null. */
export function parseIpv4Prefix(text: string): [number, number] | null {
  const m = /^([^/]+)\/(\d{1,2})$/.exec(text);
  if (m === null) return null;
  const address = parseIpv4(m[1]);
  const length = Number(m[2]);
  if (address === null || length > 32) return null;
  if (length < 32 && address % 2 ** (32 - length) !== 0) return null;
  return [address, length];
}

/** A CIDR prefix "2001:db8::/32" (host bits must be zero) as [16 bytes, length], or null. */
export function parseIpv6Prefix(text: string): [Uint8Array, number] | null {
  const m = /^([^/]+)\/(\d{1,3})$/.exec(text);
  if (m === null) return null;
  const address = parseIpv6(m[1]);
  const length = Number(m[2]);
  if (address === null || length > 128) return null;
  for (let bit = length; bit < 128; bit++) if ((address[bit >>> 3] >>> (7 - (bit & 7))) & 1) return null;
  return [address, length];
}

/**
 * For configuration readers: the IPv4 address written in `value`, or a TinyNfError naming `what` (e.g.
 * "nat config: externalIp").
 */
export function configIpv4(value: unknown, what: string): number {
  const a = typeof value === 'string' ? parseIpv4(value) : null;
  if (a === null) throw new TinyNfError(`${what} must be a dotted IPv4 address like 10.1.0.1, got ${JSON.stringify(value)}`);
  return a;
}

/** For configuration readers: the MAC address written in `value` (6 bytes), or a TinyNfError naming `what`. */
export function configMac(value: unknown, what: string): Uint8Array {
  const m = typeof value === 'string' ? parseMac(value) : null;
  if (m === null) throw new TinyNfError(`${what} must be a MAC address like 02:00:00:00:00:01, got ${JSON.stringify(value)}`);
  return m;
}
