// Run by tests/env/device-memory-codegen.test.ts under `node --print-opt-code --print-opt-code-filter=NAME`: warms a
// device-memory write path until TurboFan optimises it, so the parent can read V8's own machine code for it.
//   node --print-opt-code --print-opt-code-filter=write32 codegen-child.js isolated
//   node --print-opt-code --print-opt-code-filter=flush   codegen-child.js driver restricted
// 'isolated' warms DeviceMemory.write32 / DeviceRegister.write32 alone, plus a control function that stores with
// Atomics.store (atomicsStoreControl), so the parent can show its check would see a locked instruction.
// 'driver' forwards frames through the real driver (nop NF) on the in-memory NIC (inline) for one driver model.
import { DeviceMemory } from '../../../src/env/device-memory';
import { createNop } from '../../../src/nf/simple';
import { Testbed } from '../../../src/app/testbed';

const mode = process.argv[2];

if (mode === 'isolated') {
  const bar = new SharedArrayBuffer(128 * 1024);
  const memory = new DeviceMemory(bar);
  const tail = memory.register(0x06018);
  const words = new Uint32Array(bar);
  // eslint-disable-next-line no-inner-declarations
  function atomicsStoreControl(v: number): void {
    Atomics.store(words, 0x01018 >>> 2, v);
  }
  for (let i = 0; i < 300_000; i++) {
    memory.write32(0x01018 + ((i & 7) << 6), i & 1023);
    tail.write32(i & 1023);
    atomicsStoreControl(i & 1023);
  }
  process.stdout.write(`\nCHILD-DONE ${memory.read32(0x01018) + tail.read32()}\n`);
} else if (mode === 'driver') {
  const model = process.argv[3] as 'restricted' | 'flexible' | 'compat';
  const testbed = Testbed.create({ model });
  testbed.attach(createNop({}, { clock: testbed.env, ports: 2 }));
  const frame = new Uint8Array(60);
  frame.fill(0xab, 0, 12);
  let forwarded = 0;
  for (let round = 0; round < 400; round++) {
    for (let k = 0; k < 256; k++) testbed.send(round & 1, frame);
    testbed.run();
    forwarded += testbed.received(0).length + testbed.received(1).length;
  }
  if (testbed.violations.length !== 0) throw new Error(`violations: ${JSON.stringify(testbed.violations[0])}`);
  process.stdout.write(`\nCHILD-DONE ${forwarded}\n`);
} else {
  throw new Error(`unknown mode ${mode}`);
}
