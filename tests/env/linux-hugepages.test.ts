// Real 2 MiB huge pages on this machine (root only): reserve a few, mount a private hugetlbfs, allocate DMA
// memory in child processes (whose exit returns the pages), and check what the kernel reports.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { HUGE_PAGE_SIZE } from '../../src/env/environment';
import { HUGETLBFS_MAGIC, isHugetlbfs, mountHugetlbfs, readHugepagePool, unmount } from '../../src/env/hugepages';
import { createFakeSysfs, describeAsRoot } from './helpers/fake-sysfs';
import { lockHugePages } from './helpers/hugepage-lock';

const CHILD = path.join(__dirname, 'helpers', 'hugepage-child.js');
const POOL = '/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages';
const EXTRA_PAGES = 3;

function meminfoFree(): number {
  return Number(/HugePages_Free:\s+(\d+)/.exec(fs.readFileSync('/proc/meminfo', 'utf8'))![1]);
}

function runChild(...args: string[]): any {
  const r = spawnSync(process.execPath, [CHILD, ...args], { encoding: 'utf8', timeout: 30_000 });
  if (r.status !== 0) throw new Error(`child failed (${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}

describeAsRoot('Linux DMA memory from real 2 MiB huge pages', () => {
  let previousTotal = 0;
  let mount = '';

  let unlock: (() => void) | null = null;

  beforeAll(() => {
    unlock = lockHugePages();
    previousTotal = Number(fs.readFileSync(POOL, 'utf8').trim());
    fs.writeFileSync(POOL, `${previousTotal + EXTRA_PAGES}\n`);
    mount = fs.mkdtempSync(path.join(os.tmpdir(), 'tinynf-hugetlbfs-'));
    mountHugetlbfs(mount);
  });

  afterAll(() => {
    if (mount !== '') {
      if (isHugetlbfs(mount)) unmount(mount);
      fs.rmdirSync(mount);
    }
    fs.writeFileSync(POOL, `${previousTotal}\n`);
    unlock?.();
  });

  it('mounts a private hugetlbfs (statfs magic)', () => {
    expect(fs.statfsSync(mount).type).toBe(HUGETLBFS_MAGIC);
    expect(readHugepagePool('/sys').free).toBeGreaterThanOrEqual(EXTRA_PAGES);
  });

  it('allocates whole 2 MiB pages, physically aligned and contiguous, and frees them at exit', () => {
    const freeBefore = meminfoFree();
    const r = runChild('allocate', mount);
    expect(r.freeWhileHeld).toBe(freeBefore - 2); // one huge page per allocation, even for 4 KiB
    for (const p of r.pages) {
      expect(p.byteOffset).toBe(0);
      expect(p.byteLength).toBe(HUGE_PAGE_SIZE);
      expect(p.bufferBytes).toBe(HUGE_PAGE_SIZE);
      expect(p.phys % HUGE_PAGE_SIZE).toBe(0);
      expect(p.phys).toBeGreaterThan(0);
      expect(p.zeroFilled).toBe(true);
      expect(p.virtToPhysLast).toBe(p.phys + HUGE_PAGE_SIZE - 1);
      // every 4 KiB piece of the huge page: the next physical frame
      expect(p.pfns).toHaveLength(HUGE_PAGE_SIZE / p.pageSize);
      expect(p.pfns[0] * p.pageSize).toBe(p.phys);
      p.pfns.forEach((pfn: number, i: number) => expect(pfn).toBe(p.pfns[0] + i));
      expect(p.kernelPageSizeKb).toBe(2048); // /proc/self/smaps: the mapping is made of 2 MiB pages
    }
    expect(r.pages[0].phys).not.toBe(r.pages[1].phys);
    expect(meminfoFree()).toBe(freeBefore); // the child's exit returned them
  });

  it('reports PFN 0 from pagemap as a privilege problem', () => {
    const r = runChild('pfn0', mount);
    expect(r.error.name).toBe('TinyNfError');
    expect(r.error.message).toMatch(/^\/dev\/zero gave PFN 0 for address 0x[0-9a-f]+: reading physical addresses needs CAP_SYS_ADMIN, run tinynf as root \(sudo\)$/);
  });

  it('says how to get huge pages when the pool is empty (sysfs pre-check and mmap ENOMEM)', () => {
    const fake = createFakeSysfs({ hugepages: { total: 9, free: 9 } });
    try {
      const freeBefore = meminfoFree();
      const r = runChild('exhaust', mount, fake.root);
      expect(r.allocated).toBe(freeBefore);
      const expected = /^no free 2 MiB huge pages \(\d+ reserved, all in use or none\): run `sudo npx tinynf setup hugepages 64`$/;
      expect(r.error.message).toMatch(expected);
      expect(r.mmapError.message).toMatch(expected);
      expect(meminfoFree()).toBe(freeBefore);
    } finally {
      fake.cleanup();
    }
  });
});
