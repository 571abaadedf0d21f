// The Linux environment: what TinyNF's C environment (tn_mem / tn_pci on Linux) does, in TypeScript.
//   DMA memory  one 2 MiB hugetlbfs page per allocation, populated and locked, physical address from
//               /proc/self/pagemap (a 2 MiB page is physically contiguous, so phys + k addresses byte k)
//   PCI config  pread/pwrite of 4 bytes on <sysfs>/bus/pci/devices/<addr>/config
//   BAR0        mmap of <sysfs>/bus/pci/devices/<addr>/resource0 as a SharedArrayBuffer (native addon)
//   time        Atomics.wait for sleeps of 1 ms or more, busy-wait below; performance.now() for the clock
// See docs/environment.md for the how and why, and the errors with their fixes.
import * as fs from 'fs';
import * as path from 'path';
import {
  DmaMemory,
  Environment,
  HUGE_PAGE_SIZE,
  PciAddress,
  TinyNfError,
  assertLittleEndianHost,
} from './environment';
import {
  MappedHugepage,
  SETUP_HUGEPAGES_COMMAND,
  findHugetlbfsMount,
  isHugetlbfs,
  mapHugepage,
  readHugepagePool,
} from './hugepages';
import { libc } from './libc';
import { shmAddon } from './native/addon';
import { Pagemap, checkEntry } from './pagemap';
import { checkDeviceAndBar0 } from './pci-checks';
import { existingPciDevice } from './sysfs';
import { checkConfigOffset } from './simulated';
import type { DeviceMemory } from './device-memory';
import { IoPortBar } from './io-bar';
import type { PciBarEnvironment } from './environment';

export interface LinuxEnvironmentOptions {
  /** Where sysfs is mounted (default /sys); tests use a temporary directory laid out the same way. */
  sysfsRoot?: string;
  /** A hugetlbfs mount of 2 MiB pages; default: the first one listed in `mountsPath`. */
  hugetlbfsMount?: string;
  /** The pagemap file (default /proc/self/pagemap). */
  pagemapPath?: string;
  /** The mount table (default /proc/mounts), to find hugetlbfs. */
  mountsPath?: string;
}

interface DmaRegion {
  readonly phys: number;
  readonly byteLength: number;
}

export class LinuxEnvironment implements PciBarEnvironment {
  readonly name = 'linux';
  readonly sysfsRoot: string;
  readonly pagemapPath: string;
  readonly mountsPath: string;
  private readonly hugetlbfsMountOption: string | undefined;
  /** DMA buffers allocated here (or adopted with registerDma), for virtToPhys. */
  private readonly dma = new WeakMap<SharedArrayBuffer, DmaRegion>();
  private readonly sleepCell = new Int32Array(new SharedArrayBuffer(4));
  private pageSize = 0;

  constructor(options: LinuxEnvironmentOptions = {}) {
    assertLittleEndianHost();
    this.sysfsRoot = options.sysfsRoot ?? '/sys';
    this.pagemapPath = options.pagemapPath ?? '/proc/self/pagemap';
    this.mountsPath = options.mountsPath ?? '/proc/mounts';
    this.hugetlbfsMountOption = options.hugetlbfsMount;
  }

  // ---- DMA memory -------------------------------------------------------------------------------------

  allocateDma(bytes: number): DmaMemory {
    if (!Number.isInteger(bytes) || bytes <= 0 || bytes > HUGE_PAGE_SIZE) {
      throw new TinyNfError(`DMA allocation of ${bytes} bytes refused: must be between 1 and ${HUGE_PAGE_SIZE} bytes`);
    }
    requireRoot('DMA memory (huge pages and physical addresses)');
    const page = this.mapHugepageForDma();
    const mount = this.hugetlbfsMount(); // for the messages below

    const pagemap = new Pagemap(this.pagemapPath, this.basePageSize());
    const entries = pagemap.readMany(page.virtualAddress, HUGE_PAGE_SIZE / pagemap.pageSize);
    checkEntry(entries[0], page.virtualAddress, this.pagemapPath);
    const phys = entries[0].pfn * pagemap.pageSize;
    // A huge page is one physical page: 2 MiB aligned, and its 4 KiB pieces follow each other. If not, this is
    // not huge page memory and a NIC would DMA into someone else's memory: refuse.
    if (phys % HUGE_PAGE_SIZE !== 0) {
      throw new TinyNfError(`huge page at 0x${phys.toString(16)} is not 2 MiB aligned: ${mount} does not hold 2 MiB pages`);
    }
    for (let i = 1; i < entries.length; i++) {
      if (entries[i].pfn !== entries[0].pfn + i) {
        throw new TinyNfError(`DMA memory from ${mount} is not physically contiguous (4 KiB page ${i}): not a 2 MiB page`);
      }
    }
    this.dma.set(page.buffer, { phys, byteLength: HUGE_PAGE_SIZE });
    return { buffer: page.buffer, byteOffset: 0, byteLength: HUGE_PAGE_SIZE, phys };
  }

  virtToPhys(buffer: SharedArrayBuffer, offset: number): number {
    const region = this.dma.get(buffer);
    if (region === undefined) {
      throw new TinyNfError('virtToPhys: buffer was not allocated by this environment (use registerDma in workers)');
    }
    if (!(offset >= 0 && offset < region.byteLength)) {
      throw new TinyNfError(`virtToPhys: offset ${offset} outside the ${region.byteLength}-byte DMA buffer`);
    }
    return region.phys + offset;
  }

  /**
   * One 2 MiB huge page, mapped, populated and locked, with the one-line errors for an empty pool or no hugetlbfs
   * (what allocateDma starts with; the VFIO environment uses it too and maps the page in the IOMMU instead of
   * asking pagemap).
   */
  mapHugepageForDma(): MappedHugepage {
    requireRoot('DMA memory (huge pages)');
    const pool = readHugepagePool(this.sysfsRoot);
    if (pool.free === 0) throw this.noHugepagesError(pool.total);
    return mapHugepage(this.hugetlbfsMount(), () => this.noHugepagesError(readHugepagePool(this.sysfsRoot).total));
  }

  /**
   * Make virtToPhys know a DMA buffer allocated elsewhere, e.g. by the main thread's environment and posted to a
   * worker (the SharedArrayBuffer is the same memory; the registry is per environment object).
   */
  registerDma(memory: DmaMemory): void {
    this.dma.set(memory.buffer, { phys: memory.phys - memory.byteOffset, byteLength: memory.byteOffset + memory.byteLength });
  }

  /** The hugetlbfs mount to allocate from, or a one-line error saying how to get one. */
  hugetlbfsMount(): string {
    if (this.hugetlbfsMountOption !== undefined) {
      if (!isHugetlbfs(this.hugetlbfsMountOption)) {
        throw new TinyNfError(
          `hugetlbfs is not mounted at ${this.hugetlbfsMountOption}: mount it with ` +
            `\`sudo mount -t hugetlbfs -o pagesize=2M nodev ${this.hugetlbfsMountOption}\` or use \`${SETUP_HUGEPAGES_COMMAND}\``,
        );
      }
      return this.hugetlbfsMountOption;
    }
    const found = findHugetlbfsMount(this.mountsPath);
    if (found === undefined) {
      throw new TinyNfError(`hugetlbfs (2 MiB pages) is not mounted (none in ${this.mountsPath}): run \`${SETUP_HUGEPAGES_COMMAND}\``);
    }
    return found;
  }

  private noHugepagesError(total: number): TinyNfError {
    return new TinyNfError(
      `no free 2 MiB huge pages (${total} reserved, all in use or none): run \`${SETUP_HUGEPAGES_COMMAND}\``,
    );
  }

  private basePageSize(): number {
    if (this.pageSize === 0) this.pageSize = libc().getpagesize();
    return this.pageSize;
  }

  // ---- PCI --------------------------------------------------------------------------------------------

  pciRead32(address: PciAddress, offset: number): number {
    const file = this.configFile(address);
    checkConfigOffset(offset);
    const bytes = new Uint8Array(4);
    const fd = this.open(file, 'r', 'read the PCI configuration space');
    try {
      const got = fs.readSync(fd, bytes, 0, 4, offset);
      if (got !== 4) {
        throw new TinyNfError(
          `short read of ${file} at offset ${offset} (${got} of 4 bytes): the extended configuration space needs root`,
        );
      }
    } finally {
      fs.closeSync(fd);
    }
    return new DataView(bytes.buffer).getUint32(0, true);
  }

  pciWrite32(address: PciAddress, offset: number, value: number): void {
    const file = this.configFile(address);
    checkConfigOffset(offset);
    const bytes = new Uint8Array(4);
    new DataView(bytes.buffer).setUint32(0, value >>> 0, true);
    const fd = this.open(file, 'r+', 'write the PCI configuration space');
    try {
      const put = fs.writeSync(fd, bytes, 0, 4, offset);
      if (put !== 4) throw new TinyNfError(`short write to ${file} at offset ${offset} (${put} of 4 bytes)`);
    } finally {
      fs.closeSync(fd);
    }
  }

  mapBar0(address: PciAddress): SharedArrayBuffer {
    const dev = existingPciDevice(this.sysfsRoot, address);
    checkDeviceAndBar0(dev.address, (off) => this.pciRead32(dev.address, off));
    const file = path.join(dev.dir, 'resource0');
    // O_SYNC: the kernel maps resource files uncached either way; ixy and TinyNF open them like this too.
    const fd = this.open(file, fs.constants.O_RDWR | fs.constants.O_SYNC, 'map BAR0');
    try {
      const size = fs.fstatSync(fd).size;
      if (size === 0) throw new TinyNfError(`${file} is empty: BAR0 of ${dev.address} is not mapped by the kernel`);
      try {
        return shmAddon().map(fd, size, 0, true, false);
      } catch (e) {
        throw new TinyNfError(`cannot map BAR0 of ${dev.address} (${file}): ${(e as Error).message}`);
      }
    } finally {
      fs.closeSync(fd);
    }
  }

  mapMemoryBar(address: PciAddress, bar: number): SharedArrayBuffer {
    const { file, dev } = this.barFile(address, bar, 'memory');
    const fd = this.open(file, fs.constants.O_RDWR | fs.constants.O_SYNC, `map BAR${bar}`);
    try {
      const size = fs.fstatSync(fd).size;
      if (size === 0) throw new TinyNfError(`${file} is empty: BAR${bar} of ${dev} is not mapped by the kernel`);
      try {
        return shmAddon().map(fd, size, 0, true, false);
      } catch (e) {
        throw new TinyNfError(`cannot map BAR${bar} of ${dev} (${file}): ${(e as Error).message}`);
      }
    } finally {
      fs.closeSync(fd);
    }
  }

  openIoBar(address: PciAddress, bar: number): IoPortBar {
    const { file } = this.barFile(address, bar, 'io');
    let size: number;
    try {
      size = fs.statSync(file).size;
    } catch (e) {
      throw new TinyNfError(`cannot open ${file}: ${(e as Error).message}`);
    }
    return new IoPortBar(file, size);
  }

  /** resourceN of the device, after checking in config space that BAR `bar` is of the kind asked for. */
  private barFile(address: PciAddress, bar: number, kind: 'memory' | 'io'): { file: string; dev: PciAddress } {
    if (!Number.isInteger(bar) || bar < 0 || bar > 5) throw new TinyNfError(`BAR index ${bar} is not 0..5`);
    const dev = existingPciDevice(this.sysfsRoot, address);
    // PCI Local Bus Specification 3.0, Section 6.2.5.1: bit 0 of a BAR is 1 for I/O space, 0 for memory space.
    const value = this.pciRead32(dev.address, 0x10 + 4 * bar) >>> 0;
    const isIo = (value & 1) === 1;
    if (isIo !== (kind === 'io')) {
      throw new TinyNfError(`BAR${bar} of ${dev.address} (0x${value.toString(16)}) is ${isIo ? 'an I/O' : 'a memory'} BAR, not ${kind === 'io' ? 'an I/O' : 'a memory'} BAR`);
    }
    return { file: path.join(dev.dir, `resource${bar}`), dev: dev.address };
  }

  readStatistic32(_address: PciAddress, bar0: DeviceMemory, offset: number): number {
    // Section 8.2.3.23: the statistics registers are cleared by the device when read.
    return bar0.read32(offset);
  }

  private configFile(address: PciAddress): string {
    return path.join(existingPciDevice(this.sysfsRoot, address).dir, 'config');
  }

  private open(file: string, flags: string | number, what: string): number {
    try {
      return fs.openSync(file, flags);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EACCES' || code === 'EPERM') {
        throw new TinyNfError(`tinynf needs root to ${what} (${file}): run it with sudo`);
      }
      throw new TinyNfError(`cannot open ${file}: ${(e as Error).message}`);
    }
  }

  // ---- time -------------------------------------------------------------------------------------------

  sleepUs(us: number): void {
    if (us >= 1000) {
      // Atomics.wait blocks this thread for real (no event loop turn), which is what a driver's init wants.
      Atomics.wait(this.sleepCell, 0, 0, us / 1000);
      return;
    }
    const end = performance.now() + us / 1000;
    while (performance.now() < end) {
      // busy-wait: sub-millisecond timeouts of Atomics.wait are not precise
    }
  }

  nowNs(): number {
    return performance.now() * 1e6;
  }
}

/** Throw "tinynf needs root for <what>: run it with sudo" unless the effective user is root. */
export function requireRoot(what: string): void {
  if (process.geteuid !== undefined && process.geteuid() !== 0) {
    throw new TinyNfError(`tinynf needs root for ${what}: run it with sudo`);
  }
}
