// Child process for the huge page tests: allocates DMA memory with the Linux environment and reports what it
// saw as one JSON line, while still holding the pages. Its exit is what returns the pages to the pool, which the
// parent then checks. Usage: node hugepage-child.js <mode> <hugetlbfs mount> [fake sysfs root]
import * as fs from 'fs';
import { HUGE_PAGE_SIZE, TinyNfError } from '../../../src/env/environment';
import { LinuxEnvironment } from '../../../src/env/linux';
import { Pagemap } from '../../../src/env/pagemap';
import { libc } from '../../../src/env/libc';
import { shmAddon } from '../../../src/env/native/addon';

function hugePagesFree(): number {
  const m = /HugePages_Free:\s+(\d+)/.exec(fs.readFileSync('/proc/meminfo', 'utf8'));
  return m === null ? -1 : Number(m[1]);
}

/** KernelPageSize of the mapping holding `address`, from /proc/self/smaps. */
function kernelPageSizeKb(address: number): number {
  let inside = false;
  for (const line of fs.readFileSync('/proc/self/smaps', 'utf8').split('\n')) {
    const range = /^([0-9a-f]+)-([0-9a-f]+) /.exec(line);
    if (range !== null) {
      inside = parseInt(range[1], 16) <= address && address < parseInt(range[2], 16);
    } else if (inside) {
      const m = /^KernelPageSize:\s+(\d+) kB/.exec(line);
      if (m !== null) return Number(m[1]);
    }
  }
  return -1;
}

function errorOf(f: () => unknown): { name: string; message: string } | null {
  try {
    f();
    return null;
  } catch (e) {
    return { name: (e as Error).name, message: (e as Error).message };
  }
}

function main(): void {
  const [mode, mount, fakeRoot] = process.argv.slice(2);
  const out: Record<string, unknown> = {};
  if (mode === 'allocate') {
    const env = new LinuxEnvironment({ hugetlbfsMount: mount });
    const small = env.allocateDma(4096);
    const whole = env.allocateDma(HUGE_PAGE_SIZE);
    const pagemap = new Pagemap('/proc/self/pagemap', libc().getpagesize());
    const pages = [small, whole].map((m) => {
      const pfns = pagemap.readMany(shmAddon().addressOf(m.buffer), HUGE_PAGE_SIZE / pagemap.pageSize).map((e) => e.pfn);
      const bytes = new Uint8Array(m.buffer, m.byteOffset, m.byteLength);
      const zeroFilled = bytes.every((b) => b === 0);
      bytes[HUGE_PAGE_SIZE - 1] = 0xa5; // the whole page is writable
      return {
        phys: m.phys,
        byteOffset: m.byteOffset,
        byteLength: m.byteLength,
        bufferBytes: m.buffer.byteLength,
        virtToPhysLast: env.virtToPhys(m.buffer, HUGE_PAGE_SIZE - 1),
        pageSize: pagemap.pageSize,
        pfns,
        zeroFilled,
        kernelPageSizeKb: kernelPageSizeKb(shmAddon().addressOf(m.buffer)),
      };
    });
    out.pages = pages;
    out.freeWhileHeld = hugePagesFree();
  } else if (mode === 'pfn0') {
    // /dev/zero reads as all-zero entries: what an unprivileged process sees in the real pagemap.
    const env = new LinuxEnvironment({ hugetlbfsMount: mount, pagemapPath: '/dev/zero' });
    out.error = errorOf(() => env.allocateDma(4096));
  } else if (mode === 'exhaust') {
    const env = new LinuxEnvironment({ hugetlbfsMount: mount });
    const held: unknown[] = [];
    let error: ReturnType<typeof errorOf> = null;
    for (let i = 0; i < 64 && error === null; i++) {
      error = errorOf(() => held.push(env.allocateDma(4096)));
    }
    out.allocated = held.length;
    out.error = error;
    // A sysfs root claiming free pages, so the pre-check passes and mmap itself meets the empty pool.
    const lying = new LinuxEnvironment({ hugetlbfsMount: mount, sysfsRoot: fakeRoot });
    out.mmapError = errorOf(() => lying.allocateDma(4096));
  } else {
    throw new TinyNfError(`unknown mode ${mode}`);
  }
  process.stdout.write(JSON.stringify(out) + '\n');
}

main();
