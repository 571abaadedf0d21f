import { TinyNfError, parsePciAddress, readLe32, writeLe32 } from '../../src/env/environment';

describe('parsePciAddress', () => {
  it('normalises short forms to the sysfs form', () => {
    expect(parsePciAddress('03:00.0')).toBe('0000:03:00.0');
    expect(parsePciAddress('0000:5E:00.1')).toBe('0000:5e:00.1');
  });
  it('rejects malformed addresses with a clear message', () => {
    expect(() => parsePciAddress('eth0')).toThrow(TinyNfError);
    expect(() => parsePciAddress('0000:03:00.9')).toThrow(/malformed PCI address '0000:03:00.9'/);
  });
});

describe('little-endian helpers', () => {
  it('round-trips a 32-bit value', () => {
    const b = new Uint8Array(8);
    writeLe32(b, 2, 0xdeadbeef);
    expect(Array.from(b.subarray(2, 6))).toEqual([0xef, 0xbe, 0xad, 0xde]);
    expect(readLe32(b, 2)).toBe(0xdeadbeef);
  });
});
