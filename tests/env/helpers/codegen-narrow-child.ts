// Run by tests/env/device-memory-narrow.test.ts under `node --print-opt-code`: warms DeviceMemory's 8- and 16-bit
// accessors (the virtio common configuration and notify registers) until TurboFan optimises them.
import { DeviceMemory } from '../../../src/env/device-memory';

const bar = new SharedArrayBuffer(16 * 1024);
const memory = new DeviceMemory(bar);
const notify = memory.register16(0x3004);
let sum = 0;
for (let i = 0; i < 300_000; i++) {
  memory.write16(0x16 + ((i & 3) << 1), i & 0xffff);
  memory.write8(0x14 + (i & 1), i & 0xff);
  notify.write16(i & 1);
  sum += memory.read16(0x18) + memory.read8(0x14);
}
process.stdout.write(`\nCHILD-DONE ${sum}\n`);
