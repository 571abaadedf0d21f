// IoPortBar: pread/pwrite of exactly the access width at the port's offset (what the kernel turns into in/out on a
// real I/O resource). On a regular file the same calls read and write bytes, which shows offsets and byte order.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { TinyNfError } from '../../src/env/environment';
import { IoPortBar } from '../../src/env/io-bar';

describe('IoPortBar', () => {
  test('1/2/4-byte little-endian accesses at their offsets; misaligned, out-of-range and closed accesses refused', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tinynf-iobar-'));
    try {
      const file = path.join(dir, 'resource0');
      fs.writeFileSync(file, Buffer.alloc(32));
      const io = new IoPortBar(file, 32);
      io.write32(0x04, 0x11223344); // guest features
      io.write16(0x0e, 0xabcd); // queue select
      io.write8(0x12, 0x07); // device status
      const bytes = fs.readFileSync(file);
      expect(bytes.subarray(0x04, 0x08)).toEqual(Buffer.from([0x44, 0x33, 0x22, 0x11]));
      expect(bytes.subarray(0x0e, 0x10)).toEqual(Buffer.from([0xcd, 0xab]));
      expect(bytes[0x12]).toBe(7);
      expect([io.read32(0x04), io.read16(0x0e), io.read8(0x12), io.read8(0x13)]).toEqual([0x11223344, 0xabcd, 7, 0]);
      expect(fs.statSync(file).size).toBe(32); // no access wrote past the range
      for (const bad of [() => io.read16(0x0f), () => io.write32(0x02, 0), () => io.read32(0x1e), () => io.read8(32)]) expect(bad).toThrow(TinyNfError);
      io.close();
      expect(() => io.read8(0)).toThrow(/closed/);
      expect(() => new IoPortBar(path.join(dir, 'missing'), 32)).toThrow(TinyNfError);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
