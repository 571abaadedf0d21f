// VFIO: the device behind the IOMMU (Linux Documentation: driver-api/vfio.rst). What DPDK's and ixy's VFIO code
// does, in TypeScript, with the ABI of vfio-abi.ts:
//   container  /dev/vfio/vfio: VFIO_GET_API_VERSION, VFIO_CHECK_EXTENSION(type1), VFIO_SET_IOMMU once a group is in
//   group      /dev/vfio/<N> (N = basename of <sysfs>/bus/pci/devices/<addr>/iommu_group): VFIO_GROUP_GET_STATUS
//              (viable = every device of the group bound to vfio-pci or to no driver), VFIO_GROUP_SET_CONTAINER
//   device     VFIO_GROUP_GET_DEVICE_FD(<addr>); VFIO_DEVICE_GET_REGION_INFO per region; config space and I/O BARs
//              by pread/pwrite at the region's offset in the device fd, memory BARs by mmap of the device fd
//   DMA        2 MiB huge pages (as the Linux environment) mapped with VFIO_IOMMU_MAP_DMA at IOVAs we choose; the
//              device only ever sees IOVAs, and the IOMMU refuses it everything else
//   cleanup    close(): VFIO_IOMMU_UNMAP_DMA every mapping, close device fds, VFIO_GROUP_UNSET_CONTAINER, close the
//              group and the container, so the next process (or environment) can open the group again
// VfioEnvironment is an Environment: allocateDma returns the IOVA as `phys` and virtToPhys gives IOVAs, so the
// drivers run on it unchanged. See docs/environment.md (VFIO) and docs/hardware.md (VFIO).
import * as path from 'path';
import {
  DmaMemory,
  HUGE_PAGE_SIZE,
  PciBarEnvironment,
  PciAddress,
  TinyNfError,
  assertLittleEndianHost,
  parsePciAddress,
} from './environment';
import type { DeviceMemory } from './device-memory';
import { IoPortBar } from './io-bar';
import type { MappedHugepage } from './hugepages';
import * as A from './vfio-abi';
import { LinuxEnvironment } from './linux';
import { O_CLOEXEC, O_RDWR, libc } from './libc';
import { shmAddon } from './native/addon';
import { Pagemap, checkEntry } from './pagemap';
import { checkDeviceAndBar0 } from './pci-checks';
import { checkConfigOffset } from './simulated';
import { boundDriver, existingPciDevice, iommuGroupOf, readPciDevice } from './sysfs';

/** The system calls VFIO needs. linuxVfioSystem() is the real one; tests substitute a model of the kernel. */
export interface VfioSystem {
  /** open(2) O_RDWR|O_CLOEXEC; -1 and errno() on failure. */
  open(file: string): number;
  close(fd: number): number;
  /** ioctl(2) with a struct argument (the kernel reads and may write it). */
  ioctl(fd: number, request: number, arg: Uint8Array): number;
  ioctlInt(fd: number, request: number, value: number): number;
  ioctlString(fd: number, request: number, value: string): number;
  pread(fd: number, buffer: Uint8Array, count: number, offset: number): number;
  pwrite(fd: number, buffer: Uint8Array, count: number, offset: number): number;
  /** mmap(2) MAP_SHARED read/write of `length` bytes at `offset` of fd; throws an Error on failure. */
  mmap(fd: number, length: number, offset: number): SharedArrayBuffer;
  /** Let go of the file under a buffer from mmap (its pages become anonymous zero pages); throws on failure. */
  unmap(buffer: SharedArrayBuffer): void;
  errno(): number;
  strerror(errno: number): string;
}

export function linuxVfioSystem(): VfioSystem {
  const l = libc();
  return {
    open: (file) => l.open(file, O_RDWR | O_CLOEXEC, 0),
    close: (fd) => l.close(fd),
    ioctl: (fd, request, arg) => l.ioctl(fd, request, arg),
    ioctlInt: (fd, request, value) => l.ioctlInt(fd, request, value),
    ioctlString: (fd, request, value) => l.ioctlString(fd, request, value),
    pread: (fd, buffer, count, offset) => l.pread(fd, buffer, count, offset),
    pwrite: (fd, buffer, count, offset) => l.pwrite(fd, buffer, count, offset),
    mmap: (fd, length, offset) => shmAddon().map(fd, length, offset, true, false),
    unmap: (buffer) => shmAddon().release(buffer),
    errno: () => l.errno(),
    strerror: (e) => l.strerror(e),
  };
}

// errno values (include/uapi/asm-generic/errno-base.h)
export const EPERM = 1;
export const ENOENT = 2;
export const EACCES = 13;
export const EBUSY = 16;
export const ENODEV = 19;
export const EINVAL = 22;

function fail(sys: VfioSystem, what: string, hint?: (errno: number) => string | undefined): never {
  const e = sys.errno();
  const extra = hint?.(e);
  throw new TinyNfError(`${what}: ${sys.strerror(e)} (errno ${e})${extra ? `; ${extra}` : ''}`);
}

/** The VFIO container: one IOMMU address space shared by the groups in it. */
export class VfioContainer {
  /** VFIO_TYPE1v2_IOMMU if the kernel has it, else VFIO_TYPE1_IOMMU. */
  readonly iommuType: number;
  private iommuSet = false;
  private closed = false;

  private constructor(
    private readonly sys: VfioSystem,
    readonly fd: number,
  ) {
    const version = sys.ioctlInt(fd, A.VFIO_GET_API_VERSION, 0);
    if (version !== A.VFIO_API_VERSION) {
      sys.close(fd);
      throw new TinyNfError(`VFIO API version ${version}, expected ${A.VFIO_API_VERSION}: this kernel's VFIO is not supported`);
    }
    if (sys.ioctlInt(fd, A.VFIO_CHECK_EXTENSION, A.VFIO_TYPE1v2_IOMMU) === 1) {
      this.iommuType = A.VFIO_TYPE1v2_IOMMU;
    } else if (sys.ioctlInt(fd, A.VFIO_CHECK_EXTENSION, A.VFIO_TYPE1_IOMMU) === 1) {
      this.iommuType = A.VFIO_TYPE1_IOMMU;
    } else {
      sys.close(fd);
      throw new TinyNfError('VFIO has no type1 IOMMU driver: run `sudo modprobe vfio_iommu_type1`');
    }
  }

  /** Open `<devDir>/vfio` and check the API version and the type1 IOMMU. */
  static open(sys: VfioSystem, devDir = '/dev/vfio'): VfioContainer {
    const file = path.join(devDir, 'vfio');
    const fd = sys.open(file);
    if (fd < 0) {
      fail(sys, `cannot open ${file}`, (e) =>
        e === ENOENT ? 'VFIO is not loaded: run `sudo modprobe vfio-pci`' : e === EACCES || e === EPERM ? 'run tinynf with sudo' : undefined,
      );
    }
    return new VfioContainer(sys, fd);
  }

  get hasIommu(): boolean {
    return this.iommuSet;
  }

  /** VFIO_SET_IOMMU: needs at least one group in the container. Idempotent. */
  setIommu(): void {
    if (this.iommuSet) return;
    if (this.sys.ioctlInt(this.fd, A.VFIO_SET_IOMMU, this.iommuType) !== 0) {
      fail(this.sys, 'VFIO_SET_IOMMU (type1) failed', (e) =>
        e === EPERM
          ? 'the IOMMU has no interrupt remapping (VFIO refuses it unless vfio_iommu_type1 allow_unsafe_interrupts=1); ' +
            'in QEMU use -device intel-iommu,intremap=on'
          : undefined,
      );
    }
    this.iommuSet = true;
  }

  /** VFIO_IOMMU_MAP_DMA: the device may read and write [iova, iova + size) and reaches vaddr's memory there. */
  mapDma(vaddr: number, iova: number, size: number): void {
    const arg = A.encodeDmaMap(vaddr, iova, size, A.VFIO_DMA_MAP_FLAG_READ | A.VFIO_DMA_MAP_FLAG_WRITE);
    if (this.sys.ioctl(this.fd, A.VFIO_IOMMU_MAP_DMA, arg) !== 0) {
      fail(this.sys, `VFIO_IOMMU_MAP_DMA of ${size} bytes at IOVA 0x${iova.toString(16)} failed`, (e) =>
        e === EINVAL ? 'the IOVA is outside what the IOMMU can address, or overlaps a mapping' : undefined,
      );
    }
  }

  /** VFIO_IOMMU_UNMAP_DMA; returns the bytes the kernel says it unmapped. */
  unmapDma(iova: number, size: number): number {
    const arg = A.encodeDmaUnmap(iova, size);
    if (this.sys.ioctl(this.fd, A.VFIO_IOMMU_UNMAP_DMA, arg) !== 0) {
      fail(this.sys, `VFIO_IOMMU_UNMAP_DMA at IOVA 0x${iova.toString(16)} failed`);
    }
    return A.getU64(arg, A.DMA_UNMAP.unmapSize);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.sys.close(this.fd);
  }
}

/** An IOMMU group: the unit VFIO isolates (every device that can reach another's DMA without the IOMMU). */
export class VfioGroup {
  private container: VfioContainer | undefined;
  private closed = false;

  private constructor(
    private readonly sys: VfioSystem,
    readonly number: number,
    readonly fd: number,
  ) {}

  static open(sys: VfioSystem, group: number, devDir = '/dev/vfio'): VfioGroup {
    const file = path.join(devDir, String(group));
    const fd = sys.open(file);
    if (fd < 0) {
      fail(sys, `cannot open IOMMU group ${group} (${file})`, (e) =>
        e === ENOENT
          ? 'no device of the group is bound to vfio-pci: run `sudo npx tinynf bind --vfio ADDR`'
          : e === EBUSY
            ? 'another process (or environment) has the group open'
            : e === EACCES || e === EPERM
              ? 'run tinynf with sudo'
              : undefined,
      );
    }
    return new VfioGroup(sys, group, fd);
  }

  /** VFIO_GROUP_GET_STATUS flags. */
  status(): number {
    const arg = A.newStruct(A.GROUP_STATUS.size);
    if (this.sys.ioctl(this.fd, A.VFIO_GROUP_GET_STATUS, arg) !== 0) fail(this.sys, `VFIO_GROUP_GET_STATUS of group ${this.number} failed`);
    return A.getU32(arg, A.GROUP_STATUS.flags);
  }

  get viable(): boolean {
    return (this.status() & A.VFIO_GROUP_FLAGS_VIABLE) !== 0;
  }

  /** VFIO_GROUP_SET_CONTAINER (the argument is a pointer to the container's fd). */
  setContainer(container: VfioContainer): void {
    const arg = new Uint8Array(4);
    A.putU32(arg, 0, container.fd);
    if (this.sys.ioctl(this.fd, A.VFIO_GROUP_SET_CONTAINER, arg) !== 0) fail(this.sys, `VFIO_GROUP_SET_CONTAINER of group ${this.number} failed`);
    this.container = container;
  }

  /** VFIO_GROUP_GET_DEVICE_FD(name): the device's fd, for regions. */
  device(address: PciAddress): VfioDevice {
    const fd = this.sys.ioctlString(this.fd, A.VFIO_GROUP_GET_DEVICE_FD, address);
    if (fd < 0) {
      fail(this.sys, `VFIO_GROUP_GET_DEVICE_FD(${address}) failed`, (e) =>
        e === EBUSY ? `${address} is already open (by this or another process)` : undefined,
      );
    }
    return new VfioDevice(this.sys, address, fd);
  }

  /** VFIO_GROUP_UNSET_CONTAINER (every device fd of the group must be closed first), then close the group. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.container !== undefined) {
      this.sys.ioctlInt(this.fd, A.VFIO_GROUP_UNSET_CONTAINER, 0);
      this.container = undefined;
    }
    this.sys.close(this.fd);
  }
}

/** A device of a group: its regions (config space, BARs) through its fd. */
export class VfioDevice {
  private readonly regions = new Map<number, A.RegionInfo>();
  private readonly mapped: SharedArrayBuffer[] = [];
  private closed = false;

  constructor(
    private readonly sys: VfioSystem,
    readonly address: PciAddress,
    readonly fd: number,
  ) {}

  /** VFIO_DEVICE_GET_INFO: flags and number of regions. */
  info(): { flags: number; numRegions: number; numIrqs: number } {
    const arg = A.newStruct(A.DEVICE_INFO.size);
    if (this.sys.ioctl(this.fd, A.VFIO_DEVICE_GET_INFO, arg) !== 0) fail(this.sys, `VFIO_DEVICE_GET_INFO of ${this.address} failed`);
    return {
      flags: A.getU32(arg, A.DEVICE_INFO.flags),
      numRegions: A.getU32(arg, A.DEVICE_INFO.numRegions),
      numIrqs: A.getU32(arg, A.DEVICE_INFO.numIrqs),
    };
  }

  /** VFIO_DEVICE_GET_REGION_INFO(index), cached. */
  region(index: number): A.RegionInfo {
    const known = this.regions.get(index);
    if (known !== undefined) return known;
    const arg = A.newStruct(A.REGION_INFO.size);
    A.putU32(arg, A.REGION_INFO.index, index);
    if (this.sys.ioctl(this.fd, A.VFIO_DEVICE_GET_REGION_INFO, arg) !== 0) {
      fail(this.sys, `VFIO_DEVICE_GET_REGION_INFO(${index}) of ${this.address} failed`);
    }
    const info = A.decodeRegionInfo(arg);
    this.regions.set(index, info);
    return info;
  }

  /** pread `count` bytes at `offset` of region `index` (config space, an I/O BAR, or a memory BAR). */
  read(index: number, offset: number, bytes: Uint8Array, count: number = bytes.length): void {
    const r = this.checkAccess(index, offset, count, A.VFIO_REGION_INFO_FLAG_READ, 'read');
    const got = this.sys.pread(this.fd, bytes, count, r.offset + offset);
    if (got !== count) {
      if (got < 0) fail(this.sys, `read of region ${index} of ${this.address} at ${offset} failed`);
      throw new TinyNfError(`short read of region ${index} of ${this.address} at ${offset} (${got} of ${count} bytes)`);
    }
  }

  /** pwrite `count` bytes at `offset` of region `index`. */
  write(index: number, offset: number, bytes: Uint8Array, count: number = bytes.length): void {
    const r = this.checkAccess(index, offset, count, A.VFIO_REGION_INFO_FLAG_WRITE, 'write');
    const put = this.sys.pwrite(this.fd, bytes, count, r.offset + offset);
    if (put !== count) {
      if (put < 0) fail(this.sys, `write of region ${index} of ${this.address} at ${offset} failed`);
      throw new TinyNfError(`short write to region ${index} of ${this.address} at ${offset} (${put} of ${count} bytes)`);
    }
  }

  /** mmap the whole of memory BAR `index` (it must have VFIO_REGION_INFO_FLAG_MMAP). */
  map(index: number): SharedArrayBuffer {
    const r = this.region(index);
    if (r.size === 0) throw new TinyNfError(`BAR${index} of ${this.address} is not implemented (VFIO region size 0)`);
    if ((r.flags & A.VFIO_REGION_INFO_FLAG_MMAP) === 0) {
      throw new TinyNfError(`BAR${index} of ${this.address} cannot be mapped (an I/O BAR, or vfio-pci refuses mmap): use read/write`);
    }
    try {
      const buffer = this.sys.mmap(this.fd, r.size, r.offset);
      this.mapped.push(buffer);
      return buffer;
    } catch (e) {
      throw new TinyNfError(`cannot map BAR${index} of ${this.address} through VFIO: ${(e as Error).message}`);
    }
  }

  /**
   * Release every BAR mapping (a mapping holds the device file, and the device file holds the group: Linux 6.1
   * drivers/vfio/group.c, "Device FDs hold a group file reference") and close the fd. A BAR buffer still in use
   * afterwards reads zeros and writes go nowhere.
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const b of this.mapped.splice(0)) this.sys.unmap(b);
    this.sys.close(this.fd);
  }

  private checkAccess(index: number, offset: number, count: number, flag: number, what: string): A.RegionInfo {
    const r = this.region(index);
    if ((r.flags & flag) === 0) throw new TinyNfError(`region ${index} of ${this.address} cannot be ${what === 'read' ? 'read' : 'written'}`);
    if (!Number.isInteger(offset) || offset < 0 || offset + count > r.size) {
      throw new TinyNfError(`${what} of ${count} bytes at ${offset} is outside region ${index} of ${this.address} (${r.size} bytes)`);
    }
    return r;
  }
}

/** Default IOVA of the first DMA allocation: 4 GiB, so drivers must program the high halves of addresses. */
export const DEFAULT_IOVA_BASE = 0x1_0000_0000;

export interface VfioEnvironmentOptions {
  /** Where sysfs is mounted (default /sys). */
  sysfsRoot?: string;
  /** Where the VFIO character devices are (default /dev/vfio). */
  devDir?: string;
  /** The system calls (default: the real ones). */
  system?: VfioSystem;
  /** Where DMA memory comes from: one 2 MiB page, mapped and locked (default: a hugetlbfs page, as LinuxEnvironment). */
  hugepage?: () => MappedHugepage;
  /** IOVA of the first allocation (2 MiB aligned; default 4 GiB); later ones follow, 2 MiB apart. */
  iovaBase?: number;
  /**
   * 'chosen' (default): IOVAs from iovaBase up. 'physical': IOVA = the page's physical address (from pagemap), for a
   * device whose DMA bypasses the IOMMU (a legacy virtio device cannot negotiate VIRTIO_F_ACCESS_PLATFORM, so QEMU
   * sends its DMA untranslated); the page is still mapped at that IOVA, so a device that does go through the IOMMU
   * works too.
   */
  iova?: 'chosen' | 'physical';
  /** The pagemap file for iova 'physical' (default /proc/self/pagemap). */
  pagemapPath?: string;
  /** Sleep and clock (default: the Linux environment's). */
  clock?: { sleepUs(us: number): void; nowNs(): number };
}

interface DmaMapping {
  readonly buffer: SharedArrayBuffer;
  readonly vaddr: number;
  readonly iova: number;
  readonly size: number;
  mapped: boolean;
}

interface OpenDevice {
  readonly group: VfioGroup;
  readonly device: VfioDevice;
}

/** The Environment over VFIO: PCI config and BARs through device fds, DMA memory at IOVAs behind the IOMMU. */
export class VfioEnvironment implements PciBarEnvironment {
  readonly name = 'vfio';
  readonly sysfsRoot: string;
  readonly devDir: string;
  private readonly sys: VfioSystem;
  private readonly hugepage: () => MappedHugepage;
  private readonly clock: { sleepUs(us: number): void; nowNs(): number };
  private container: VfioContainer | undefined;
  private readonly groups = new Map<number, VfioGroup>();
  private readonly devices = new Map<PciAddress, OpenDevice>();
  private readonly mappings: DmaMapping[] = [];
  private readonly byBuffer = new WeakMap<SharedArrayBuffer, { iova: number; byteLength: number }>();
  private nextIova: number;
  /** How IOVAs are chosen (see VfioEnvironmentOptions.iova). */
  readonly iovaMode: 'chosen' | 'physical';
  private readonly pagemapPath: string;
  private closed = false;

  constructor(options: VfioEnvironmentOptions = {}) {
    assertLittleEndianHost();
    this.sysfsRoot = options.sysfsRoot ?? '/sys';
    this.devDir = options.devDir ?? '/dev/vfio';
    this.sys = options.system ?? linuxVfioSystem();
    let linux: LinuxEnvironment | undefined;
    const getLinux = () => (linux ??= new LinuxEnvironment({ sysfsRoot: this.sysfsRoot }));
    this.hugepage = options.hugepage ?? (() => getLinux().mapHugepageForDma());
    this.clock = options.clock ?? getLinux();
    const base = options.iovaBase ?? DEFAULT_IOVA_BASE;
    if (!Number.isSafeInteger(base) || base <= 0 || base % HUGE_PAGE_SIZE !== 0) {
      throw new TinyNfError(`IOVA base 0x${base.toString(16)} must be a non-zero multiple of 2 MiB`);
    }
    this.nextIova = base;
    this.iovaMode = options.iova ?? 'chosen';
    this.pagemapPath = options.pagemapPath ?? '/proc/self/pagemap';
  }

  // ---- DMA memory -------------------------------------------------------------------------------------

  allocateDma(bytes: number): DmaMemory {
    this.checkOpen();
    if (!Number.isInteger(bytes) || bytes <= 0 || bytes > HUGE_PAGE_SIZE) {
      throw new TinyNfError(`DMA allocation of ${bytes} bytes refused: must be between 1 and ${HUGE_PAGE_SIZE} bytes`);
    }
    const page = this.hugepage();
    let iova: number;
    if (this.iovaMode === 'physical') {
      iova = physicalAddressOf(page, this.pagemapPath);
    } else {
      iova = this.nextIova;
      this.nextIova += HUGE_PAGE_SIZE;
    }
    const mapping: DmaMapping = { buffer: page.buffer, vaddr: page.virtualAddress, iova, size: HUGE_PAGE_SIZE, mapped: false };
    this.mappings.push(mapping);
    // MAP_DMA needs the IOMMU set, which needs a group in the container: before the first device is opened the
    // mapping waits (openDevice maps it).
    if (this.container?.hasIommu === true) {
      try {
        this.map(mapping);
      } catch (e) {
        this.mappings.pop();
        throw e;
      }
    }
    this.byBuffer.set(page.buffer, { iova, byteLength: HUGE_PAGE_SIZE });
    return { buffer: page.buffer, byteOffset: 0, byteLength: HUGE_PAGE_SIZE, phys: iova };
  }

  /** The IOVA of byte `offset` of a buffer from allocateDma (what the device must be given). */
  virtToPhys(buffer: SharedArrayBuffer, offset: number): number {
    const r = this.byBuffer.get(buffer);
    if (r === undefined) throw new TinyNfError('virtToPhys: buffer was not allocated by this environment');
    if (!(offset >= 0 && offset < r.byteLength)) {
      throw new TinyNfError(`virtToPhys: offset ${offset} outside the ${r.byteLength}-byte DMA buffer`);
    }
    return r.iova + offset;
  }

  /** The IOVA windows mapped so far: [iova, iova + size) each. */
  get dmaMappings(): { iova: number; size: number; mapped: boolean }[] {
    return this.mappings.map((m) => ({ iova: m.iova, size: m.size, mapped: m.mapped }));
  }

  /**
   * Remove one DMA buffer from the IOMMU (VFIO_IOMMU_UNMAP_DMA): from now on the device faults on its IOVAs. For
   * tests of the isolation; the buffer stays valid memory for us.
   */
  unmapDma(buffer: SharedArrayBuffer): void {
    const m = this.mappings.find((x) => x.buffer === buffer);
    if (m === undefined) throw new TinyNfError('unmapDma: buffer was not allocated by this environment');
    if (m.mapped) {
      this.container!.unmapDma(m.iova, m.size);
      m.mapped = false;
    }
  }

  // ---- PCI --------------------------------------------------------------------------------------------

  pciRead32(address: PciAddress, offset: number): number {
    checkConfigOffset(offset);
    const b = new Uint8Array(4);
    this.device(address).read(A.VFIO_PCI_CONFIG_REGION_INDEX, offset, b);
    return A.getU32(b, 0);
  }

  pciWrite32(address: PciAddress, offset: number, value: number): void {
    checkConfigOffset(offset);
    const b = new Uint8Array(4);
    A.putU32(b, 0, value);
    this.device(address).write(A.VFIO_PCI_CONFIG_REGION_INDEX, offset, b);
  }

  /** Read 1, 2 or 4 bytes of config space (a virtio driver walks capabilities byte by byte). */
  pciRead(address: PciAddress, offset: number, width: 1 | 2 | 4): number {
    checkWidth(offset, width);
    const b = new Uint8Array(4);
    this.device(address).read(A.VFIO_PCI_CONFIG_REGION_INDEX, offset, b, width);
    return width === 1 ? b[0] : width === 2 ? b[0] | (b[1] << 8) : A.getU32(b, 0);
  }

  /** Write 1, 2 or 4 bytes of config space (e.g. the 16-bit command register alone, leaving the status bits be). */
  pciWrite(address: PciAddress, offset: number, width: 1 | 2 | 4, value: number): void {
    checkWidth(offset, width);
    const b = new Uint8Array(4);
    A.putU32(b, 0, value);
    this.device(address).write(A.VFIO_PCI_CONFIG_REGION_INDEX, offset, b, width);
  }

  mapBar0(address: PciAddress): SharedArrayBuffer {
    const dev = this.device(address);
    checkDeviceAndBar0(dev.address, (off) => this.pciRead32(dev.address, off));
    return dev.map(A.VFIO_PCI_BAR0_REGION_INDEX);
  }

  /** mmap memory BAR `bar` (0-5) of any device bound to vfio-pci (no device check: the virtio driver uses it). */
  mapBar(address: PciAddress, bar: number): SharedArrayBuffer {
    checkBarIndex(bar);
    return this.device(address).map(bar);
  }

  /**
   * PciBarEnvironment (the virtio driver): map memory BAR `bar`, after checking in config space that it is one
   * (PCI 3.0 Section 6.2.5.1: bit 0 of the BAR register is 0 for memory space; vfio-pci shows the real type bits).
   */
  mapMemoryBar(address: PciAddress, bar: number): SharedArrayBuffer {
    checkBarIndex(bar);
    if ((this.pciRead32(address, 0x10 + 4 * bar) & 1) !== 0) throw new TinyNfError(`BAR${bar} of ${address} is an I/O BAR, not memory`);
    return this.device(address).map(bar);
  }

  /**
   * PciBarEnvironment: I/O BAR `bar` as ports, by pread/pwrite of its region in the device fd (the fd stays the
   * environment's: closing the IoPortBar does not close it).
   */
  openIoBar(address: PciAddress, bar: number): IoPortBar {
    checkBarIndex(bar);
    if ((this.pciRead32(address, 0x10 + 4 * bar) & 1) !== 1) throw new TinyNfError(`BAR${bar} of ${address} is a memory BAR, not I/O`);
    const dev = this.device(address);
    const r = dev.region(bar);
    if (r.size === 0 || (r.flags & (A.VFIO_REGION_INFO_FLAG_READ | A.VFIO_REGION_INFO_FLAG_WRITE)) !== 3) {
      throw new TinyNfError(`BAR${bar} of ${address} cannot be read and written through VFIO`);
    }
    return new IoPortBar(`vfio:${address}:BAR${bar}`, r.size, { fd: dev.fd, base: r.offset });
  }

  /** Read 1, 2 or 4 bytes of BAR `bar` through the device fd (pread: the way to an I/O BAR). */
  barRead(address: PciAddress, bar: number, offset: number, width: 1 | 2 | 4): number {
    checkBarIndex(bar);
    checkWidth(offset, width);
    const b = new Uint8Array(4);
    this.device(address).read(bar, offset, b, width);
    return width === 1 ? b[0] : width === 2 ? b[0] | (b[1] << 8) : A.getU32(b, 0);
  }

  /** Write 1, 2 or 4 bytes of BAR `bar` through the device fd (pwrite). */
  barWrite(address: PciAddress, bar: number, offset: number, width: 1 | 2 | 4, value: number): void {
    checkBarIndex(bar);
    checkWidth(offset, width);
    const b = new Uint8Array(4);
    A.putU32(b, 0, value);
    this.device(address).write(bar, offset, b, width);
  }

  /** VFIO's description of region `index` of the device (size, flags, offset in the device fd). */
  regionInfo(address: PciAddress, index: number): A.RegionInfo {
    return this.device(address).region(index);
  }

  /** The IOMMU group of an opened device. */
  groupOf(address: PciAddress): number {
    return this.openDevice(address).group.number;
  }

  readStatistic32(_address: PciAddress, bar0: DeviceMemory, offset: number): number {
    return bar0.read32(offset);
  }

  sleepUs(us: number): void {
    this.clock.sleepUs(us);
  }

  nowNs(): number {
    return this.clock.nowNs();
  }

  /**
   * Unmap every DMA mapping, close every device fd, take the groups out of the container and close everything, so
   * the groups can be opened again. The DMA buffers stay valid memory (the device can no longer reach them).
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    const errors: string[] = [];
    const attempt = (f: () => void) => {
      try {
        f();
      } catch (e) {
        errors.push((e as Error).message);
      }
    };
    for (const m of this.mappings) {
      if (m.mapped) {
        attempt(() => this.container!.unmapDma(m.iova, m.size));
        m.mapped = false;
      }
    }
    for (const d of this.devices.values()) attempt(() => d.device.close());
    this.devices.clear();
    for (const g of this.groups.values()) attempt(() => g.close());
    this.groups.clear();
    if (this.container !== undefined) attempt(() => this.container!.close());
    this.container = undefined;
    if (errors.length > 0) throw new TinyNfError(`VFIO cleanup: ${errors.join('; ')}`);
  }

  // ---- internals --------------------------------------------------------------------------------------

  private device(address: PciAddress): VfioDevice {
    return this.openDevice(address).device;
  }

  private openDevice(address: PciAddress): OpenDevice {
    this.checkOpen();
    const known = this.devices.get(address);
    if (known !== undefined) return known;
    const dev = existingPciDevice(this.sysfsRoot, address);
    const again = this.devices.get(dev.address);
    if (again !== undefined) return again;
    const driver = boundDriver(dev.dir);
    if (driver !== 'vfio-pci') {
      throw new TinyNfError(
        `${dev.address} is bound to ${driver ?? 'no driver'}, not vfio-pci: run \`sudo npx tinynf bind --vfio ${dev.address}\``,
      );
    }
    const groupNumber = iommuGroupOf(this.sysfsRoot, dev.address);
    if (groupNumber === undefined) {
      throw new TinyNfError(`${dev.address} has no IOMMU group: the IOMMU is off (intel_iommu=on iommu=pt on the kernel command line)`);
    }
    if (this.container === undefined) {
      this.container = VfioContainer.open(this.sys, this.devDir);
    }
    let group = this.groups.get(groupNumber);
    if (group === undefined) {
      try {
        group = VfioGroup.open(this.sys, groupNumber, this.devDir);
      } catch (e) {
        this.dropEmptyContainer();
        throw e;
      }
      try {
        if (!group.viable) {
          throw new TinyNfError(
            `IOMMU group ${groupNumber} of ${dev.address} is not viable: every device in ` +
              `${path.join(this.sysfsRoot, 'kernel', 'iommu_groups', String(groupNumber), 'devices')} must be bound to vfio-pci or to no driver`,
          );
        }
        group.setContainer(this.container);
        this.container.setIommu();
      } catch (e) {
        group.close();
        this.dropEmptyContainer();
        throw e;
      }
      this.groups.set(groupNumber, group);
      for (const m of this.mappings) if (!m.mapped) this.map(m);
    }
    const device = group.device(dev.address);
    const open = { group, device };
    this.devices.set(dev.address, open);
    return open;
  }

  /** A container without a group holds nothing: close it so a failed open leaves no fd behind. */
  private dropEmptyContainer(): void {
    if (this.groups.size === 0 && this.container !== undefined) {
      this.container.close();
      this.container = undefined;
    }
  }

  private map(m: DmaMapping): void {
    this.container!.mapDma(m.vaddr, m.iova, m.size);
    m.mapped = true;
  }

  private checkOpen(): void {
    if (this.closed) throw new TinyNfError('this VFIO environment is closed');
  }
}

/** The physical address of a 2 MiB page (pagemap; needs root), checked 2 MiB aligned. */
function physicalAddressOf(page: MappedHugepage, pagemapPath: string): number {
  const pagemap = new Pagemap(pagemapPath, libc().getpagesize());
  const entry = pagemap.readMany(page.virtualAddress, 1)[0];
  checkEntry(entry, page.virtualAddress, pagemapPath);
  const phys = entry.pfn * pagemap.pageSize;
  if (phys % HUGE_PAGE_SIZE !== 0) throw new TinyNfError(`huge page at 0x${phys.toString(16)} is not 2 MiB aligned`);
  return phys;
}

function checkBarIndex(bar: number): void {
  if (!Number.isInteger(bar) || bar < A.VFIO_PCI_BAR0_REGION_INDEX || bar > A.VFIO_PCI_BAR5_REGION_INDEX) {
    throw new TinyNfError(`BAR index ${bar} invalid: must be 0 to 5`);
  }
}

function checkWidth(offset: number, width: number): void {
  if (!(width === 1 || width === 2 || width === 4) || !Number.isInteger(offset) || offset < 0 || offset % width !== 0) {
    throw new TinyNfError(`access of ${width} bytes at ${offset}: width must be 1, 2 or 4 and the offset aligned to it`);
  }
}

/** Whether `<sysfs>/bus/pci/devices/<addr>/driver` is vfio-pci (the test `run` uses to pick this environment). */
export function boundToVfio(sysfsRoot: string, address: PciAddress): boolean {
  try {
    return boundDriver(existingPciDevice(sysfsRoot, address).dir) === 'vfio-pci';
  } catch {
    return false;
  }
}

/**
 * The environment for real ports: VFIO when every port is bound to vfio-pci, the Linux environment (physical
 * addresses, sysfs resource files) when none is, and a one-line error when they are mixed (one process cannot give
 * one NIC IOVAs and another physical addresses out of the same buffers). `close()` releases VFIO; for Linux it does
 * nothing.
 */
export function hardwareEnvironment(addresses: readonly PciAddress[], sysfsRoot = '/sys'): { env: PciBarEnvironment; close(): void } {
  const vfio = addresses.map((a) => boundToVfio(sysfsRoot, a));
  if (vfio.length > 0 && vfio.every((v) => v)) {
    const env = new VfioEnvironment({ sysfsRoot, iova: addresses.some((a) => mayBypassIommu(sysfsRoot, a)) ? 'physical' : 'chosen' });
    return { env, close: () => env.close() };
  }
  if (vfio.some((v) => v)) {
    const on = addresses.filter((_a, i) => vfio[i]);
    const off = addresses.filter((_a, i) => !vfio[i]);
    throw new TinyNfError(
      `${on.join(', ')} ${on.length === 1 ? 'is' : 'are'} bound to vfio-pci but ${off.join(', ')} ${off.length === 1 ? 'is' : 'are'} not: ` +
        `bind every port the same way (\`sudo npx tinynf bind --vfio ADDR\` for each)`,
    );
  }
  return { env: new LinuxEnvironment({ sysfsRoot }), close: () => undefined };
}

/**
 * Whether the device may do DMA that bypasses the IOMMU: a transitional or legacy virtio device (1af4:1000..103f,
 * Virtio 1.1 Section 4.1.2.3) may be driven through its legacy interface, which has no VIRTIO_F_ACCESS_PLATFORM.
 */
export function mayBypassIommu(sysfsRoot: string, address: PciAddress): boolean {
  const info = readPciDevice(sysfsRoot, parsePciAddressOrSame(address));
  return info !== undefined && info.vendor === 0x1af4 && info.device >= 0x1000 && info.device <= 0x103f;
}

function parsePciAddressOrSame(address: string): PciAddress {
  try {
    return parsePciAddress(address);
  } catch {
    return address;
  }
}
