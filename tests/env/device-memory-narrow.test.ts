// DeviceMemory's 8- and 16-bit accessors (for virtio's common configuration, Virtio 1.1 Section 4.1.3.1 "natural"
// access widths): values land where the device expects them, misaligned or out-of-range offsets are refused, and V8
// compiles the writes to one plain store of that width (movw / movb), never a locked instruction.
import { spawnSync } from 'child_process';
import * as path from 'path';
import { DeviceMemory } from '../../src/env/device-memory';
import { TinyNfError } from '../../src/env/environment';

describe('DeviceMemory 8/16-bit accessors', () => {
  test('little-endian placement, read back through read32; alignment and bounds checked', () => {
    const bar = new SharedArrayBuffer(64);
    const m = new DeviceMemory(bar);
    m.write8(0x14, 0x0f); // device_status
    m.write8(0x15, 0xaa);
    m.write16(0x16, 0x1234); // queue_select
    expect(m.read32(0x14) >>> 0).toBe(0x1234aa0f);
    expect([m.read8(0x14), m.read8(0x15), m.read16(0x16)]).toEqual([0x0f, 0xaa, 0x1234]);
    const r = m.register16(0x3e);
    r.write16(0xbeef);
    expect([r.read16(), m.read16(0x3e), r.offset]).toEqual([0xbeef, 0xbeef, 0x3e]);
    for (const bad of [() => m.write16(0x15, 1), () => m.read16(0x3f), () => m.write16(64, 1), () => m.read8(64), () => m.register16(0x41), () => m.write8(-1, 0)]) {
      expect(bad).toThrow(TinyNfError);
    }
  });

  test('V8 compiles write16/write8/register16().write16 to one plain 16/8-bit store, nothing locked', () => {
    const child = path.join(__dirname, 'helpers', 'codegen-narrow-child.js');
    const r = spawnSync(process.execPath, ['--print-opt-code', child], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
    expect(r.stdout).toContain('CHILD-DONE');
    const blocks = r.stdout
      .split('--- Optimized code ---')
      .slice(1)
      .filter((part) => /^kind = TURBOFAN$/m.test(part))
      .map((part) => ({
        name: /^name = (.*)$/m.exec(part)?.[1] ?? '',
        instructions: part
          .slice(0, part.indexOf('--- End code ---') >= 0 ? part.indexOf('--- End code ---') : undefined)
          .split('\n')
          .filter((l) => /^0x[0-9a-f]+\s+[0-9a-f]+\s+[0-9a-f]+\s+/.test(l)),
      }));
    const locked = /\bxchg[bwlq]?\b|\block\b|\((Atomics(Store|Exchange|CompareExchange|Add|Sub|And|Or|Xor))\)/i;
    const check = (name: string, store: RegExp) => {
      const found = blocks.filter((b) => b.name === name);
      expect([name, found.length > 0]).toEqual([name, true]);
      for (const b of found) {
        expect({ name, locked: b.instructions.filter((l) => locked.test(l)) }).toEqual({ name, locked: [] });
        expect({ name, stores: b.instructions.filter((l) => store.test(l)).length }).toEqual({ name, stores: 1 });
      }
    };
    check('write16', /\bmovw \[[^\]]+\],[a-z0-9]+$/);
    check('write8', /\bmovb \[[^\]]+\],[a-z0-9]+$/);
  });
});
