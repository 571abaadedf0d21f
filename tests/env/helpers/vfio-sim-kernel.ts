// A model of the kernel's VFIO (driver-api/vfio.rst, include/uapi/linux/vfio.h) in front of the in-memory 82599:
// the VfioSystem the VFIO environment calls, acting out what vfio, vfio_iommu_type1 and vfio-pci do with the
// ioctls and the device fd, and an IOMMU: VFIO_IOMMU_MAP_DMA adds a region of simulated bus-address space at the
// IOVA (SimMachine.addRegion), UNMAP_DMA removes it, so the simulated NIC reaches exactly what was mapped, at the
// IOVA, and nothing else. The "huge pages" are plain SharedArrayBuffers at made-up virtual addresses; their
// "physical" addresses exist nowhere the NIC can see. Structs are decoded field by field from the header's layout
// (independently of src/env/vfio-abi.ts's encoders: offsets are written out again here).
import * as fs from 'fs';
import * as path from 'path';
import { HUGE_PAGE_SIZE } from '../../../src/env/environment';
import type { MappedHugepage } from '../../../src/env/hugepages';
import type { VfioSystem } from '../../../src/env/vfio';
import type { SimMachine } from '../../../src/sim/machine';

const EPERM = 1, ENOENT = 2, EBADF = 9, EFAULT = 14, EBUSY = 16, EEXIST = 17, ENODEV = 19, EINVAL = 22, ENOTTY = 25;
const NAMES: Record<number, string> = { 1: 'Operation not permitted', 2: 'No such file or directory', 9: 'Bad file descriptor', 14: 'Bad address', 16: 'Device or resource busy', 17: 'File exists', 19: 'No such device', 22: 'Invalid argument', 25: 'Inappropriate ioctl for device' };
const io = (n: number) => (0x3b << 8) | (100 + n);
const REGION_SHIFT = 2 ** 40; // vfio-pci: VFIO_PCI_INDEX_TO_OFFSET(index) = index << 40
const BAR0_BYTES = 512 * 1024;

export interface SimVfioOptions {
  /** The device address -> IOMMU group number (each group a /dev/vfio/<n>). */
  groups: Record<string, number>;
  /** The fake sysfs root, whose driver links decide viability (every group member on vfio-pci or no driver). */
  sysfsRoot: string;
  /** No interrupt remapping: VFIO_SET_IOMMU fails with EPERM (as with QEMU intel-iommu,intremap=off). */
  noInterruptRemapping?: boolean;
  /** VFIO not loaded: /dev/vfio/vfio does not exist. */
  noVfio?: boolean;
}

type Fd =
  | { kind: 'container'; iommu: number; groups: Set<number> }
  | { kind: 'group'; group: number; container?: number; devices: Set<number> }
  | { kind: 'device'; address: string; groupFd: number };

export interface Mapping {
  readonly iova: number;
  readonly size: number;
  readonly vaddr: number;
}

export class SimVfioKernel implements VfioSystem {
  private readonly fds = new Map<number, Fd>();
  private nextFd = 100;
  private err = 0;
  private nextVaddr = 0x7f00_0000_0000;
  private readonly pages = new Map<number, SharedArrayBuffer>();
  /** The IOMMU's page table: what the device can reach, by IOVA. */
  readonly mappings: Mapping[] = [];
  /** Every ioctl request number seen, in order (for tests of the call sequence). */
  readonly calls: string[] = [];

  constructor(
    private readonly machine: SimMachine,
    private readonly options: SimVfioOptions,
  ) {}

  /** The environment's `hugepage` option: a 2 MiB buffer at a fresh made-up virtual address. */
  hugepage = (): MappedHugepage => {
    const buffer = new SharedArrayBuffer(HUGE_PAGE_SIZE);
    const virtualAddress = this.nextVaddr;
    this.nextVaddr += HUGE_PAGE_SIZE;
    this.pages.set(virtualAddress, buffer);
    return { buffer, virtualAddress };
  };

  /** Open fds (0 after a clean close of the environment). */
  get openFds(): number {
    return this.fds.size;
  }

  open(file: string): number {
    const dir = path.dirname(file);
    const base = path.basename(file);
    if (dir !== '/dev/vfio') return this.fail(ENOENT);
    if (base === 'vfio' && this.options.noVfio === true) return this.fail(ENOENT);
    if (base === 'vfio') return this.add({ kind: 'container', iommu: 0, groups: new Set() });
    const n = Number(base);
    if (!Object.values(this.options.groups).includes(n)) return this.fail(ENOENT);
    for (const f of this.fds.values()) if (f.kind === 'group' && f.group === n) return this.fail(EBUSY);
    return this.add({ kind: 'group', group: n, devices: new Set() });
  }

  close(fd: number): number {
    const f = this.fds.get(fd);
    if (f === undefined) return this.fail(EBADF);
    if (f.kind === 'device') (this.fds.get(f.groupFd) as { devices: Set<number> } | undefined)?.devices.delete(fd);
    if (f.kind === 'group' && f.container !== undefined) this.detach(fd, f);
    if (f.kind === 'container') {
      // Closing the container drops the IOMMU domain and every mapping (vfio_iommu_type1_release).
      for (const m of this.mappings.splice(0)) this.machine.removeRegion(m.iova);
    }
    this.fds.delete(fd);
    return 0;
  }

  ioctlInt(fd: number, request: number, value: number): number {
    const f = this.fds.get(fd);
    if (f === undefined) return this.fail(EBADF);
    this.calls.push(`${f.kind}:${request - 0x3b64}`);
    if (f.kind === 'container') {
      if (request === io(0)) return 0; // VFIO_GET_API_VERSION
      if (request === io(1)) return value === 1 || value === 3 ? 1 : 0; // VFIO_CHECK_EXTENSION
      if (request === io(2)) {
        // VFIO_SET_IOMMU: needs a group; type1 refuses a platform without interrupt remapping
        if (f.groups.size === 0 || f.iommu !== 0 || (value !== 1 && value !== 3)) return this.fail(EINVAL);
        if (this.options.noInterruptRemapping === true) return this.fail(EPERM);
        f.iommu = value;
        return 0;
      }
    }
    if (f.kind === 'group' && request === io(5)) {
      // VFIO_GROUP_UNSET_CONTAINER
      if (f.container === undefined) return this.fail(EINVAL);
      if (f.devices.size > 0) return this.fail(EBUSY);
      this.detach(fd, f);
      return 0;
    }
    return this.fail(ENOTTY);
  }

  ioctlString(fd: number, request: number, value: string): number {
    const f = this.fds.get(fd);
    if (f === undefined) return this.fail(EBADF);
    this.calls.push(`${f.kind}:${request - 0x3b64}`);
    if (f.kind !== 'group' || request !== io(6)) return this.fail(ENOTTY);
    // VFIO_GROUP_GET_DEVICE_FD: the group must be in a container with an IOMMU set
    const c = f.container === undefined ? undefined : this.fds.get(f.container);
    if (c === undefined || c.kind !== 'container' || c.iommu === 0) return this.fail(EINVAL);
    if (this.options.groups[value] !== f.group || !this.machine.hasDevice(value)) return this.fail(ENODEV);
    for (const d of this.fds.values()) if (d.kind === 'device' && d.address === value) return this.fail(EBUSY);
    const dfd = this.add({ kind: 'device', address: value, groupFd: fd });
    f.devices.add(dfd);
    return dfd;
  }

  ioctl(fd: number, request: number, arg: Uint8Array): number {
    const f = this.fds.get(fd);
    if (f === undefined) return this.fail(EBADF);
    this.calls.push(`${f.kind}:${request - 0x3b64}`);
    const dv = new DataView(arg.buffer, arg.byteOffset, arg.byteLength);
    const u64 = (o: number) => dv.getUint32(o + 4, true) * 2 ** 32 + dv.getUint32(o, true);
    const setU64 = (o: number, v: number) => {
      dv.setUint32(o, v % 2 ** 32, true);
      dv.setUint32(o + 4, Math.floor(v / 2 ** 32), true);
    };
    const argsz = arg.byteLength >= 4 ? dv.getUint32(0, true) : 0;
    if (f.kind === 'group') {
      if (request === io(3)) {
        // VFIO_GROUP_GET_STATUS { argsz, flags }
        if (argsz < 8 || arg.byteLength < 8) return this.fail(EINVAL);
        dv.setUint32(4, (this.viable(f.group) ? 1 : 0) | (f.container !== undefined ? 2 : 0), true);
        return 0;
      }
      if (request === io(4)) {
        // VFIO_GROUP_SET_CONTAINER (pointer to an int fd)
        const cfd = dv.getInt32(0, true);
        const c = this.fds.get(cfd);
        if (c === undefined || c.kind !== 'container') return this.fail(EBADF);
        if (f.container !== undefined) return this.fail(EINVAL);
        if (!this.viable(f.group)) return this.fail(EPERM);
        f.container = cfd;
        c.groups.add(fd);
        return 0;
      }
    }
    if (f.kind === 'container' && (request === io(13) || request === io(14))) {
      if (f.iommu === 0) return this.fail(EINVAL);
      if (request === io(13)) {
        // VFIO_IOMMU_MAP_DMA { argsz, flags, vaddr, iova, size }
        if (argsz < 32 || arg.byteLength < 32) return this.fail(EINVAL);
        const flags = dv.getUint32(4, true);
        const vaddr = u64(8);
        const iova = u64(16);
        const size = u64(24);
        if ((flags & ~3) !== 0 || flags === 0 || size === 0 || iova % 4096 !== 0 || size % 4096 !== 0 || vaddr % 4096 !== 0) return this.fail(EINVAL);
        if (this.mappings.some((m) => iova < m.iova + m.size && m.iova < iova + size)) return this.fail(EEXIST);
        const base = [...this.pages.keys()].find((v) => vaddr >= v && vaddr + size <= v + HUGE_PAGE_SIZE);
        if (base === undefined) return this.fail(EFAULT); // vaddr not backed by our memory: pinning fails
        this.machine.addRegion(iova, this.pages.get(base)!, vaddr - base, size);
        this.mappings.push({ iova, size, vaddr });
        return 0;
      }
      // VFIO_IOMMU_UNMAP_DMA { argsz, flags, iova, size }: unmaps whole mappings inside the range, returns the size
      if (argsz < 24 || arg.byteLength < 24) return this.fail(EINVAL);
      const iova = u64(8);
      const size = u64(16);
      let unmapped = 0;
      for (let i = this.mappings.length - 1; i >= 0; i--) {
        const m = this.mappings[i];
        if (m.iova >= iova && m.iova + m.size <= iova + size) {
          this.machine.removeRegion(m.iova);
          this.mappings.splice(i, 1);
          unmapped += m.size;
        }
      }
      setU64(16, unmapped);
      return 0;
    }
    if (f.kind === 'device') {
      if (request === io(7)) {
        // VFIO_DEVICE_GET_INFO { argsz, flags, num_regions, num_irqs, cap_offset }
        if (argsz < 16) return this.fail(EINVAL);
        dv.setUint32(4, 1 | 2, true); // RESET | PCI
        dv.setUint32(8, 9, true); // BAR0-5, ROM, CONFIG, VGA
        dv.setUint32(12, 5, true);
        return 0;
      }
      if (request === io(8)) {
        // VFIO_DEVICE_GET_REGION_INFO { argsz, flags, index, cap_offset, size, offset }
        if (argsz < 32 || arg.byteLength < 32) return this.fail(EINVAL);
        const index = dv.getUint32(8, true);
        if (index > 8) return this.fail(EINVAL);
        const size = index === 0 ? BAR0_BYTES : index === 7 ? 4096 : 0;
        const flags = index === 0 ? 1 | 2 | 4 : index === 7 ? 1 | 2 : 0;
        dv.setUint32(4, flags, true);
        setU64(16, size);
        setU64(24, index * REGION_SHIFT);
        return 0;
      }
    }
    return this.fail(ENOTTY);
  }

  pread(fd: number, buffer: Uint8Array, count: number, offset: number): number {
    return this.access(fd, buffer, count, offset, false);
  }

  pwrite(fd: number, buffer: Uint8Array, count: number, offset: number): number {
    return this.access(fd, buffer, count, offset, true);
  }

  mmap(fd: number, length: number, offset: number): SharedArrayBuffer {
    const f = this.fds.get(fd);
    if (f === undefined || f.kind !== 'device') throw new Error('mmap failed: No such device');
    if (offset !== 0 || length !== BAR0_BYTES) throw new Error('mmap failed: Invalid argument');
    return this.machine.bar0(f.address);
  }

  /** Buffers let go of by unmap (the real one replaces the pages; the model only records it). */
  readonly released: SharedArrayBuffer[] = [];

  unmap(buffer: SharedArrayBuffer): void {
    this.released.push(buffer);
  }

  errno(): number {
    return this.err;
  }

  strerror(e: number): string {
    return NAMES[e] ?? `errno ${e}`;
  }

  /** Whether the device at `address` is in the group and every member of the group is on vfio-pci or no driver. */
  viable(group: number): boolean {
    return Object.entries(this.options.groups)
      .filter(([, g]) => g === group)
      .every(([a]) => {
        let driver: string | undefined;
        try {
          driver = path.basename(fs.readlinkSync(path.join(this.options.sysfsRoot, 'bus', 'pci', 'devices', a, 'driver')));
        } catch {
          driver = undefined;
        }
        return driver === undefined || driver === 'vfio-pci';
      });
  }

  private access(fd: number, buffer: Uint8Array, count: number, offset: number, write: boolean): number {
    const f = this.fds.get(fd);
    if (f === undefined || f.kind !== 'device') return this.fail(EBADF);
    const index = Math.floor(offset / REGION_SHIFT);
    const at = offset - index * REGION_SHIFT;
    if (index === 7) {
      // vfio-pci config space: any width, done here as read-modify-write of the 32-bit word (one word at most)
      if (at + count > 4096 || (at & 3) + count > 4) return this.fail(EINVAL);
      const word = at & ~3;
      const cur = this.machine.configRead32(f.address, word);
      const bytes = [cur & 0xff, (cur >>> 8) & 0xff, (cur >>> 16) & 0xff, cur >>> 24];
      for (let k = 0; k < count; k++) {
        if (write) bytes[(at & 3) + k] = buffer[k];
        else buffer[k] = bytes[(at & 3) + k];
      }
      if (write) this.machine.configWrite32(f.address, word, (bytes[0] | (bytes[1] << 8) | (bytes[2] << 16) | (bytes[3] << 24)) >>> 0);
      return count;
    }
    if (index === 0) {
      // BAR0 through the fd: 32-bit aligned accesses only (vfio-pci does any width; the 82599 wants 32 bits)
      if (count !== 4 || at % 4 !== 0 || at + 4 > BAR0_BYTES) return this.fail(EINVAL);
      const words = new Uint32Array(this.machine.bar0(f.address));
      const dv = new DataView(buffer.buffer, buffer.byteOffset, 4);
      if (write) words[at >>> 2] = dv.getUint32(0, true);
      else dv.setUint32(0, Atomics.load(words, at >>> 2), true);
      return 4;
    }
    return this.fail(EINVAL);
  }

  private detach(fd: number, f: { container?: number }): void {
    const c = f.container === undefined ? undefined : this.fds.get(f.container);
    if (c !== undefined && c.kind === 'container') {
      c.groups.delete(fd);
      if (c.groups.size === 0) {
        // Last group out: the IOMMU is disabled and every mapping is lost (VFIO_GROUP_UNSET_CONTAINER in vfio.h).
        c.iommu = 0;
        for (const m of this.mappings.splice(0)) this.machine.removeRegion(m.iova);
      }
    }
    f.container = undefined;
  }

  private add(f: Fd): number {
    const fd = this.nextFd++;
    this.fds.set(fd, f);
    return fd;
  }

  private fail(e: number): number {
    this.err = e;
    return -1;
  }
}
