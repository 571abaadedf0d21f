// Device memory, proven from V8's own output rather than from our source: the child (helpers/codegen-child.ts)
// warms the write paths under `node --print-opt-code` and we read TurboFan's x86-64 code.
// - DeviceMemory.write32 / DeviceRegister.write32 compile to one aligned 32-bit `movl` store, with no locked
//   instruction (XCHG, LOCK prefix) and no call to an Atomics builtin that writes (AtomicsStore is an `xchgl`).
// - A control function using Atomics.store shows exactly such a call, so the check would see one.
// - In every driver model, the optimised functions that inline write32 (the tail writes of the agent, of the
//   flexible queues and of the shim) contain a `movl` store and nothing locked.
import { spawnSync } from 'child_process';
import * as path from 'path';

const CHILD = path.join(__dirname, 'helpers', 'codegen-child.js');

interface OptimisedCode {
  name: string;
  inlined: string[];
  instructions: string[];
}

/** Split `--print-opt-code` output into its TURBOFAN blocks. */
function optimisedBlocks(output: string): OptimisedCode[] {
  const blocks: OptimisedCode[] = [];
  for (const part of output.split('--- Optimized code ---').slice(1)) {
    if (!/^kind = TURBOFAN$/m.test(part)) continue;
    const name = /^name = (.*)$/m.exec(part)?.[1] ?? '';
    const inlinedSection = /Inlined functions \(count = \d+\)\n((?: .*\n)*)/.exec(part)?.[1] ?? '';
    const inlined = [...inlinedSection.matchAll(/<SharedFunctionInfo (\S*)>/g)].map((m) => m[1]);
    const end = part.indexOf('--- End code ---');
    const body = end >= 0 ? part.slice(0, end) : part;
    const instructions = body.split('\n').filter((l) => /^0x[0-9a-f]+\s+[0-9a-f]+\s+[0-9a-f]+\s+/.test(l));
    blocks.push({ name, inlined, instructions });
  }
  return blocks;
}

/** A locked instruction, or a call to a builtin that writes with one. */
const LOCKED = /\bxchg[bwlq]?\b|\block\b|\((Atomics(Store|Exchange|CompareExchange|Add|Sub|And|Or|Xor))\)/i;
/** An aligned 32-bit store to memory: `movl [base+index*4],reg`. */
const STORE32 = /\bmovl \[[^\]]+\],[a-z0-9]+$/;

function runChild(args: string[]): OptimisedCode[] {
  const r = spawnSync(process.execPath, ['--print-opt-code', CHILD, ...args], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  if (r.status !== 0 || !r.stdout.includes('CHILD-DONE')) {
    throw new Error(`codegen child failed (${r.status}): ${r.stderr.slice(-2000)}`);
  }
  return optimisedBlocks(r.stdout);
}

describe('device memory in V8 machine code (node --print-opt-code)', () => {
  test('write32 is one plain 32-bit movl store; Atomics.store (the control) calls the locked AtomicsStore builtin', () => {
    const blocks = runChild(['isolated']);
    const writes = blocks.filter((b) => b.name === 'write32');
    expect(writes.length).toBeGreaterThanOrEqual(1); // DeviceMemory.write32 and DeviceRegister.write32
    for (const b of writes) {
      expect(b.instructions.filter((l) => STORE32.test(l))).toHaveLength(1);
      expect(b.instructions.filter((l) => LOCKED.test(l))).toEqual([]);
    }
    const control = blocks.filter((b) => b.name === 'atomicsStoreControl');
    expect(control).toHaveLength(1);
    expect(control[0].instructions.some((l) => LOCKED.test(l))).toBe(true);
  });

  test.each(['restricted', 'flexible', 'compat'])('%s model: the optimised tail writes are plain movl stores, nothing locked', (model) => {
    const blocks = runChild(['driver', model]);
    const withWrite = blocks.filter((b) => b.name === 'write32' || b.inlined.includes('write32'));
    expect(withWrite.length).toBeGreaterThanOrEqual(1);
    for (const b of withWrite) {
      expect({ name: b.name, locked: b.instructions.filter((l) => LOCKED.test(l)) }).toEqual({ name: b.name, locked: [] });
      expect(b.instructions.some((l) => STORE32.test(l))).toBe(true);
    }
  });
});
