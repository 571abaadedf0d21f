// I/O-port BARs (a legacy virtio device's BAR0: 32 bytes of ports), accessed as ixy's virtio driver does: pread and
// pwrite of 1, 2 or 4 bytes at the port's offset in sysfs' resourceN file. The kernel turns each into one inb/inw/inl
// or outb/outw/outl of that width (drivers/pci/pci-sysfs.c, pci_read_resource_io/pci_write_resource_io: counts of 1,
// 2 and 4 at a naturally aligned offset are the only ones accepted). mmap of an I/O resource fails (ENODEV, measured
// under uio_pci_generic), so there is no mapping and no typed array here: every access is a system call (~50 us under
// QEMU TCG, measured), and the driver keeps them off the per-packet path.
import * as fs from 'fs';
import { TinyNfError } from './environment';

/** One I/O-port BAR, open for port accesses of the width each method names. */
export class IoPortBar {
  private fd: number;
  private readonly scratch = Buffer.alloc(4);

  /** Where port 0 is in the file (0 for a resourceN file; the region's offset in a VFIO device fd). */
  private readonly base: number;
  /** Whether close() closes the fd (not when it belongs to someone else, e.g. a VFIO device fd). */
  private readonly ownsFd: boolean;

  /**
   * @internal use Environment-level openers (LinuxEnvironment.openIoBar, VfioEnvironment.openIoBar). With `opened`,
   * the ports are at [base, base + byteLength) of an already open fd (VFIO: the BAR's region in the device fd,
   * where vfio-pci turns a pread/pwrite of 1, 2 or 4 bytes into one in/out of that width) and `file` only names it.
   */
  constructor(
    /** resourceN file the ports are accessed through. */
    readonly file: string,
    /** Size of the port range in bytes. */
    readonly byteLength: number,
    opened?: { fd: number; base: number },
  ) {
    this.base = opened?.base ?? 0;
    this.ownsFd = opened === undefined;
    if (opened !== undefined) {
      this.fd = opened.fd;
      return;
    }
    try {
      this.fd = fs.openSync(file, fs.constants.O_RDWR);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new TinyNfError(
        code === 'EACCES' || code === 'EPERM' ? `tinynf needs root to access the I/O ports of ${file}: run it with sudo` : `cannot open ${file}: ${(e as Error).message}`,
      );
    }
  }

  read8(offset: number): number {
    this.access(offset, 1, false);
    return this.scratch[0];
  }

  read16(offset: number): number {
    this.access(offset, 2, false);
    return this.scratch.readUInt16LE(0);
  }

  read32(offset: number): number {
    this.access(offset, 4, false);
    return this.scratch.readUInt32LE(0);
  }

  write8(offset: number, value: number): void {
    this.scratch[0] = value & 0xff;
    this.access(offset, 1, true);
  }

  write16(offset: number, value: number): void {
    this.scratch.writeUInt16LE(value & 0xffff, 0);
    this.access(offset, 2, true);
  }

  write32(offset: number, value: number): void {
    this.scratch.writeUInt32LE(value >>> 0, 0);
    this.access(offset, 4, true);
  }

  close(): void {
    if (this.fd >= 0 && this.ownsFd) fs.closeSync(this.fd);
    this.fd = -1;
  }

  private access(offset: number, width: 1 | 2 | 4, write: boolean): void {
    if (offset >>> 0 !== offset || (offset & (width - 1)) !== 0 || offset + width > this.byteLength) {
      throw new TinyNfError(`I/O port access at 0x${offset.toString(16)}: not an aligned ${width * 8}-bit port in the ${this.byteLength}-byte BAR of ${this.file}`);
    }
    if (this.fd < 0) throw new TinyNfError(`I/O BAR ${this.file} is closed`);
    const at = this.base + offset;
    const n = write ? fs.writeSync(this.fd, this.scratch, 0, width, at) : fs.readSync(this.fd, this.scratch, 0, width, at);
    if (n !== width) throw new TinyNfError(`short ${write ? 'write to' : 'read of'} ${this.file} at 0x${offset.toString(16)} (${n} of ${width} bytes)`);
  }
}
