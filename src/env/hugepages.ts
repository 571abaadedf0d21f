// 2 MiB huge pages: the kernel pool (sysfs), hugetlbfs mounts (/proc/mounts, statfs), and mapping one page as
// a SharedArrayBuffer that is resident and locked (the DMA memory of the Linux environment).
// Linux Documentation: admin-guide/mm/hugetlbpage.rst.
import * as fs from 'fs';
import * as path from 'path';
import { HUGE_PAGE_SIZE, TinyNfError } from './environment';
import { libc, lastError } from './libc';
import { shmAddon } from './native/addon';

/** The 2 MiB pool under a sysfs root: nr_hugepages (read/write), free_hugepages (read). */
export const HUGEPAGES_2M_DIR = path.join('kernel', 'mm', 'hugepages', 'hugepages-2048kB');
/** statfs(2) f_type of hugetlbfs (include/uapi/linux/magic.h HUGETLBFS_MAGIC). */
export const HUGETLBFS_MAGIC = 0x958458f6;
/** Where `tinynf setup hugepages` mounts hugetlbfs when none is mounted (as systemd and dpdk-hugepages do). */
export const DEFAULT_HUGETLBFS_MOUNT = '/dev/hugepages';
/** The command that fixes "no huge pages"; quoted in errors. */
export const SETUP_HUGEPAGES_COMMAND = 'sudo npx tinynf setup hugepages 64';

export interface HugepagePool {
  /** nr_hugepages: pages in the pool. */
  readonly total: number;
  /** free_hugepages: pages not in use. */
  readonly free: number;
}

/** The 2 MiB pool as the kernel reports it under `sysfsRoot`. */
export function readHugepagePool(sysfsRoot: string): HugepagePool {
  const dir = path.join(sysfsRoot, HUGEPAGES_2M_DIR);
  return { total: readCount(path.join(dir, 'nr_hugepages')), free: readCount(path.join(dir, 'free_hugepages')) };
}

function readCount(file: string): number {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new TinyNfError(`cannot read ${file} (does this kernel support 2 MiB huge pages?): ${(e as Error).message}`);
  }
  const n = Number.parseInt(text.trim(), 10);
  // An empty or non-numeric read means the kernel told us nothing: count it as no pages.
  return Number.isNaN(n) ? 0 : n;
}

/** One line of /proc/mounts. Fields are space-separated; spaces inside fields are escaped as \040. */
export interface MountEntry {
  readonly source: string;
  readonly target: string;
  readonly fstype: string;
  readonly options: string[];
}

export function parseMounts(text: string): MountEntry[] {
  const unescape = (s: string) => s.replace(/\\([0-7]{3})/g, (_m, oct: string) => String.fromCharCode(parseInt(oct, 8)));
  const out: MountEntry[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 4) continue;
    out.push({ source: unescape(f[0]), target: unescape(f[1]), fstype: f[2], options: f[3].split(',') });
  }
  return out;
}

/**
 * The first hugetlbfs mount of 2 MiB pages listed in `mountsPath` (/proc/mounts), or undefined. A mount without
 * a pagesize option uses the default huge page size, which is 2 MiB on x86-64 (Hugepagesize in /proc/meminfo).
 */
export function findHugetlbfsMount(mountsPath = '/proc/mounts'): string | undefined {
  let text: string;
  try {
    text = fs.readFileSync(mountsPath, 'utf8');
  } catch (e) {
    throw new TinyNfError(`cannot read ${mountsPath}: ${(e as Error).message}`);
  }
  const m = parseMounts(text).find(
    (e) => e.fstype === 'hugetlbfs' && e.options.every((o) => !o.startsWith('pagesize=') || o === 'pagesize=2M'),
  );
  return m?.target;
}

/** Whether `dir` is (the root of or inside) a hugetlbfs file system, by statfs(2). */
export function isHugetlbfs(dir: string): boolean {
  try {
    return fs.statfsSync(dir).type === HUGETLBFS_MAGIC;
  } catch {
    return false;
  }
}

/** mount -t hugetlbfs -o pagesize=2M nodev `dir` (creating `dir`). Needs root. */
export function mountHugetlbfs(dir: string): void {
  fs.mkdirSync(dir, { recursive: true });
  if (libc().mount('nodev', dir, 'hugetlbfs', 0, 'pagesize=2M') !== 0) {
    throw new TinyNfError(lastError(`cannot mount hugetlbfs at ${dir}`));
  }
}

/** umount `dir`. */
export function unmount(dir: string): void {
  if (libc().umount2(dir, 0) !== 0) {
    throw new TinyNfError(lastError(`cannot unmount ${dir}`));
  }
}

export interface SetupOptions {
  sysfsRoot?: string;
  mountsPath?: string;
  mountPoint?: string;
  /** Where setup remembers the hugetlbfs mount it made, so `setup hugepages 0` can undo it (default /run/tinynf). */
  stateDir?: string;
}

export const DEFAULT_STATE_DIR = '/run/tinynf';
const MOUNT_MARKER = 'hugetlbfs-mount';

export interface SetupResult {
  readonly previousTotal: number;
  readonly total: number;
  readonly free: number;
  readonly mountPoint: string;
  /** True if hugetlbfs was mounted by this call, false if a mount already existed. */
  readonly mounted: boolean;
  /** With count 0: the mount point setup had made and this call unmounted, if any. */
  readonly unmounted?: string;
}

/**
 * `tinynf setup hugepages N`: make the 2 MiB pool hold `count` pages (nr_hugepages, as dpdk-hugepages --reserve)
 * and make sure hugetlbfs is mounted. Throws if the kernel could reserve fewer pages than asked (memory too
 * fragmented or too small): the pool keeps what it got, and the message says so.
 */
export function setupHugepages(count: number, options: SetupOptions = {}): SetupResult {
  const sysfsRoot = options.sysfsRoot ?? '/sys';
  if (!Number.isInteger(count) || count < 0) {
    throw new TinyNfError(`invalid number of huge pages '${count}': expected a whole number, e.g. 64`);
  }
  const file = path.join(sysfsRoot, HUGEPAGES_2M_DIR, 'nr_hugepages');
  const previousTotal = readHugepagePool(sysfsRoot).total;
  try {
    fs.writeFileSync(file, `${count}\n`);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EACCES' || code === 'EPERM') {
      throw new TinyNfError(`tinynf needs root to reserve huge pages (${file}): run it with sudo`);
    }
    throw new TinyNfError(`cannot write ${file}: ${(e as Error).message}`);
  }
  const pool = readHugepagePool(sysfsRoot);
  if (pool.total < count) {
    throw new TinyNfError(
      `the kernel reserved only ${pool.total} of ${count} 2 MiB huge pages (not enough free contiguous memory); ` +
        `try fewer pages or reserve them at boot (hugepages=${count} on the kernel command line)`,
    );
  }
  const marker = path.join(options.stateDir ?? DEFAULT_STATE_DIR, MOUNT_MARKER);
  if (count === 0) {
    // undo: the pool is empty; unmount hugetlbfs if (and only if) an earlier setup mounted it
    let unmounted: string | undefined;
    if (fs.existsSync(marker)) {
      const dir = fs.readFileSync(marker, 'utf8').trim();
      if (dir !== '' && fs.existsSync(dir) && isHugetlbfs(dir)) {
        unmount(dir);
        unmounted = dir;
      }
      fs.rmSync(marker, { force: true });
    }
    const left = unmounted === undefined ? findHugetlbfsMount(options.mountsPath) : undefined;
    return { previousTotal, total: pool.total, free: pool.free, mountPoint: unmounted ?? left ?? '', mounted: false, unmounted };
  }
  let mountPoint = findHugetlbfsMount(options.mountsPath);
  let mounted = false;
  if (mountPoint === undefined) {
    mountPoint = options.mountPoint ?? DEFAULT_HUGETLBFS_MOUNT;
    mountHugetlbfs(mountPoint);
    mounted = true;
    fs.mkdirSync(path.dirname(marker), { recursive: true });
    fs.writeFileSync(marker, `${mountPoint}\n`);
  }
  return { previousTotal, total: pool.total, free: pool.free, mountPoint, mounted };
}

/** A huge page mapped into this process: resident, locked, shared with workers through `buffer`. */
export interface MappedHugepage {
  readonly buffer: SharedArrayBuffer;
  /** Virtual address of buffer[0], 2 MiB aligned. */
  readonly virtualAddress: number;
}

let fileCounter = 0;

/**
 * Map one 2 MiB page from the hugetlbfs mounted at `mount`: create a file, size it, mmap it shared with
 * MAP_POPULATE|MAP_LOCKED (so the page is faulted in now), mlock it explicitly (as TinyNF does; for hugetlb
 * mappings the kernel accepts mlock as a no-op — VmLck stays 0 — because huge pages are never swapped; like
 * DPDK and TinyNF we accept that the kernel could in principle migrate them, e.g. on memory hot-unplug, which
 * neither MAP_LOCKED nor mlock prevents), and unlink the file (the mapping keeps the page; it goes back to the pool when
 * the buffer is collected or the process exits). `noPagesError` is thrown when the pool is empty.
 */
export function mapHugepage(mount: string, noPagesError: () => TinyNfError): MappedHugepage {
  const file = path.join(mount, `tinynf-${process.pid}-${process.hrtime.bigint()}-${fileCounter++}`);
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDWR | fs.constants.O_CREAT | fs.constants.O_EXCL, 0o600);
  } catch (e) {
    throw new TinyNfError(`cannot create a huge page file in ${mount}: ${(e as Error).message}`);
  }
  try {
    fs.ftruncateSync(fd, HUGE_PAGE_SIZE);
    let buffer: SharedArrayBuffer;
    try {
      buffer = shmAddon().map(fd, HUGE_PAGE_SIZE, 0, true, true);
    } catch (e) {
      // hugetlbfs reserves the page at mmap time: ENOMEM here means the pool is empty.
      if (/Cannot allocate memory/.test((e as Error).message)) throw noPagesError();
      throw new TinyNfError(`cannot map a huge page from ${mount}: ${(e as Error).message}`);
    }
    const virtualAddress = shmAddon().addressOf(buffer);
    if (libc().mlock(virtualAddress, HUGE_PAGE_SIZE) !== 0) {
      throw new TinyNfError(lastError('cannot lock DMA memory (mlock)'));
    }
    return { buffer, virtualAddress };
  } finally {
    fs.closeSync(fd);
    fs.unlinkSync(file);
  }
}
