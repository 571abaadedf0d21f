// The hardware code path without hardware (issue 8): Device.init and forwarding by the restricted agent with the
// Linux environment unchanged — sysfs config access and the resource0 mmap over the in-memory 82599's files, DMA
// memory from real 2 MiB huge pages whose physical addresses the simulated NIC resolves. Needs root (huge pages,
// /proc/self/pagemap); the scenario runs in a child process (helpers/hardware-path-child.ts) so its huge pages
// return to the pool when it exits. See docs/hardware.md, "Testing the hardware path without hardware".
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { isHugetlbfs, mountHugetlbfs, unmount } from '../../src/env/hugepages';
import { describeAsRoot } from './helpers/fake-sysfs';
import { lockHugePages } from './helpers/hugepage-lock';

const CHILD = path.join(__dirname, 'helpers', 'hardware-path-child.js');
const POOL = '/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages';
const FREE = '/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages';
/** Two agents: buffers, transmit heads and one ring each (the restricted model), plus slack. */
const EXTRA_PAGES = 12;

describeAsRoot('the hardware code path against the in-memory 82599 (Linux environment, real huge pages)', () => {
  let previousTotal = -1;
  let mount = '';
  let reserved = false;

  let unlock: (() => void) | null = null;

  beforeAll(() => {
    unlock = lockHugePages();
    previousTotal = Number(fs.readFileSync(POOL, 'utf8').trim());
    const freeBefore = Number(fs.readFileSync(FREE, 'utf8').trim());
    fs.writeFileSync(POOL, `${previousTotal + EXTRA_PAGES}\n`);
    reserved = Number(fs.readFileSync(FREE, 'utf8').trim()) >= freeBefore + EXTRA_PAGES;
    mount = fs.mkdtempSync(path.join(os.tmpdir(), 'tinynf-hugetlbfs-'));
    mountHugetlbfs(mount);
  });

  afterAll(() => {
    if (mount !== '') {
      if (isHugetlbfs(mount)) unmount(mount);
      fs.rmdirSync(mount);
    }
    if (previousTotal >= 0) fs.writeFileSync(POOL, `${previousTotal}\n`);
    unlock?.();
  });

  it('Device.init and the restricted agent forward every frame, byte-exact, with zero violations', () => {
    if (!reserved) {
      // eslint-disable-next-line no-console
      console.warn(`SKIPPED: the kernel could not reserve ${EXTRA_PAGES} more 2 MiB huge pages (memory too fragmented)`);
      return;
    }
    const r = spawnSync(process.execPath, [CHILD, mount], { encoding: 'utf8', timeout: 60_000 });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const result = JSON.parse(r.stdout.trim().split('\n').pop()!);
    expect(result.error).toBeUndefined();
    expect(result.violations).toEqual([]);
    expect(result.mismatches).toEqual([]);
    expect(result.forwarded).toEqual([600, 600]);
    for (const s of result.nicStats) {
      expect(s.rxPackets).toBe(600);
      expect(s.rxMissed).toBe(0);
      expect(s.txPackets).toBe(600);
      expect(s.dmaErrors).toBe(0);
    }
    // DMA went to huge pages the Linux environment allocated and translated through /proc/self/pagemap
    expect(result.hugePagesUsed).toBeGreaterThanOrEqual(6);
    expect(result.regions).toHaveLength(result.hugePagesUsed);
    expect(result.regionsAreHugePages).toBe(true);
    expect(result.virtToPhysAgrees).toBe(true);
    expect(result.rxRingInHugePage).toBe(true);
    // bus master, memory access and interrupt disable set through the config file
    expect(result.commandRegister & 0b110_0000_0110).toBe(0b100_0000_0110);
    // the device ran because the driver's sleeps stepped it
    expect(result.sleepStepsDuringInit).toBeGreaterThan(100);
  });
});
