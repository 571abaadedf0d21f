// Decoding /proc/self/pagemap entries (admin-guide/mm/pagemap.rst), and reading the real file.
import * as fc from 'fast-check';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { shmAddon } from '../../src/env/native/addon';
import { decodePagemapEntry, Pagemap } from '../../src/env/pagemap';
import { TinyNfError } from '../../src/env/environment';
import { isRoot } from './helpers/fake-sysfs';

function entryBytes(present: boolean, pfn: bigint, otherBits: bigint): Uint8Array {
  // tests may use BigInt: this builds the 64-bit entry the straightforward way, independently of the decoder
  const v = (present ? 1n << 63n : 0n) | (otherBits & (0xffn << 55n) & ~(1n << 63n)) | pfn;
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, v, true);
  return b;
}

describe('pagemap entries', () => {
  it('decode PFN (bits 0-54) and present (bit 63), ignoring bits 55-62', () => {
    fc.assert(
      fc.property(fc.boolean(), fc.bigInt(0n, (1n << 55n) - 1n), fc.bigInt(0n, (1n << 64n) - 1n), (present, pfn, other) => {
        const e = decodePagemapEntry(entryBytes(present, pfn, other));
        expect(e.present).toBe(present);
        expect(e.pfn).toBe(Number(pfn));
      }),
    );
  });

  it('rejects PFN 0 with the privilege message', () => {
    const pm = new Pagemap('/dev/zero', 4096);
    expect(() => pm.physicalAddress(0x7f0000001234)).toThrow(TinyNfError);
    expect(() => pm.physicalAddress(0x7f0000001234)).toThrow(
      '/dev/zero gave PFN 0 for address 0x7f0000001234: reading physical addresses needs CAP_SYS_ADMIN, run tinynf as root (sudo)',
    );
  });

  (isRoot ? it : it.skip)('translates a resident page of this process when root', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tinynf-pm-'));
    try {
      const file = path.join(dir, 'f');
      fs.writeFileSync(file, Buffer.alloc(8192));
      const fd = fs.openSync(file, 'r+');
      const sab = shmAddon().map(fd, 8192, 0, true, true);
      fs.closeSync(fd);
      const va = shmAddon().addressOf(sab);
      const pm = new Pagemap('/proc/self/pagemap', 4096);
      const [first, second] = pm.readMany(va, 2);
      expect(first.present && second.present).toBe(true);
      expect(first.pfn).toBeGreaterThan(0);
      expect(pm.physicalAddress(va + 4096 + 5)).toBe(second.pfn * 4096 + 5);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
