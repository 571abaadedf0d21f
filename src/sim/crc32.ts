// The Ethernet FCS: CRC-32 (IEEE 802.3 Clause 3.2.9; reflected polynomial 0xEDB88320, initial value and final XOR
// 0xFFFFFFFF), transmitted least significant byte first. Only used when CRC stripping is off (rare: not hot).

const TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32 of bytes[start, start + length). */
export function crc32(bytes: Uint8Array, start: number, length: number): number {
  let c = 0xffffffff;
  for (let i = start; i < start + length; i++) c = TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** Write the FCS of bytes[start, start + length) right after them (4 bytes, little-endian as on the wire). */
export function appendFcs(bytes: Uint8Array, start: number, length: number): void {
  const fcs = crc32(bytes, start, length);
  const at = start + length;
  bytes[at] = fcs & 0xff;
  bytes[at + 1] = (fcs >>> 8) & 0xff;
  bytes[at + 2] = (fcs >>> 16) & 0xff;
  bytes[at + 3] = fcs >>> 24;
}
