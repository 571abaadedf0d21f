// The files of a standalone simulated PCI device (`tinynf sim --dir DIR`, docs/hardware.md "Testing the hardware
// path without hardware"): what sysfs offers for a real 82599, as ordinary files any process can open and mmap.
//
//   DIR/dma                      the DMA window: byte k is physical (bus) address DMA_BASE + k
//   DIR/dma_base                 DMA_BASE as text ("0x200000000\n")
//   DIR/pid                      the simulator's process id while it runs (a second simulator on DIR is refused)
//   DIR/<address>/config         PCI configuration space, 4096 bytes (as /sys/bus/pci/devices/<address>/config)
//   DIR/<address>/resource0      BAR0, 512 KiB of little-endian 32-bit registers (as .../resource0)
//   DIR/<address>/vendor, device, class   sysfs-style identity files ("0x8086\n", ...)
//   DIR/<address>/dma, dma_base  symbolic links to ../dma and ../dma_base (each port directory is self-contained)
//   DIR/bus/pci/devices/<address> -> ../../../<address>   so DIR is also a sysfs root (LinuxEnvironment sysfsRoot)
//
// Every file is mapped MAP_SHARED through the native addon, so writes by any process (pwrite or its own mmap) are
// the same memory the simulator polls. This module only makes and maps files; the device model is src/sim.
import * as fs from 'fs';
import * as path from 'path';
import { PciAddress, TinyNfError } from './environment';
import { shmAddon } from './native/addon';

export interface DevicePortFiles {
  readonly address: PciAddress;
  /** DIR/<address> */
  readonly dir: string;
  /** The mapped `config` file. */
  readonly config: SharedArrayBuffer;
  /** The mapped `resource0` file. */
  readonly bar0: SharedArrayBuffer;
}

export interface DeviceFilesOptions {
  dir: string;
  addresses: readonly PciAddress[];
  configBytes: number;
  bar0Bytes: number;
  /** Size of DIR/dma; 0 for no DMA window file (the DMA memory is registered some other way). */
  dmaBytes: number;
  dmaBase: number;
  /** Identity written to the sysfs-style vendor/device/class files. */
  vendor: number;
  device: number;
  classCode: number;
}

export interface DeviceFiles {
  readonly dir: string;
  readonly ports: DevicePortFiles[];
  /** The mapped DIR/dma, or null when dmaBytes was 0. */
  readonly dma: SharedArrayBuffer | null;
  readonly dmaBase: number;
  /** Remove DIR/pid (the files stay, for inspection and for drivers still mapping them). */
  release(): void;
}

/** Create (or re-create, zero-filled) `file` with `bytes` bytes and map it shared and writable. */
export function createSharedFile(file: string, bytes: number): SharedArrayBuffer {
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDWR | fs.constants.O_CREAT | fs.constants.O_TRUNC, 0o600);
  } catch (e) {
    throw new TinyNfError(`cannot create ${file}: ${(e as Error).message}`);
  }
  try {
    fs.ftruncateSync(fd, bytes);
    return mapFd(fd, file, bytes);
  } finally {
    fs.closeSync(fd);
  }
}

/** Map an existing file (all of it, or its first `bytes`) shared and writable. */
export function mapSharedFile(file: string, bytes?: number): SharedArrayBuffer {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r+');
  } catch (e) {
    throw new TinyNfError(`cannot open ${file}: ${(e as Error).message}`);
  }
  try {
    const size = bytes ?? fs.fstatSync(fd).size;
    if (size === 0) throw new TinyNfError(`${file} is empty: nothing to map`);
    return mapFd(fd, file, size);
  } finally {
    fs.closeSync(fd);
  }
}

function mapFd(fd: number, file: string, bytes: number): SharedArrayBuffer {
  try {
    return shmAddon().map(fd, bytes, 0, true, false);
  } catch (e) {
    if (e instanceof TinyNfError) throw e;
    throw new TinyNfError(`cannot map ${file}: ${(e as Error).message}`);
  }
}

/** Whether process `pid` exists (signal 0). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Lay out and map the files of a standalone device in `options.dir` (created if missing). */
export function createDeviceFiles(options: DeviceFilesOptions): DeviceFiles {
  const dir = path.resolve(options.dir);
  try {
    fs.mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw new TinyNfError(`cannot create the device directory ${dir}: ${(e as Error).message}`);
  }
  const pidFile = path.join(dir, 'pid');
  if (fs.existsSync(pidFile)) {
    const pid = Number.parseInt(fs.readFileSync(pidFile, 'utf8').trim(), 10);
    if (Number.isInteger(pid) && pid !== process.pid && alive(pid)) {
      throw new TinyNfError(`another simulator (pid ${pid}) is using ${dir}: stop it first, or choose another --dir`);
    }
  }
  fs.writeFileSync(pidFile, `${process.pid}\n`);

  const dma = options.dmaBytes > 0 ? createSharedFile(path.join(dir, 'dma'), options.dmaBytes) : null;
  if (dma !== null) fs.writeFileSync(path.join(dir, 'dma_base'), `0x${options.dmaBase.toString(16)}\n`);
  const devicesDir = path.join(dir, 'bus', 'pci', 'devices');
  fs.mkdirSync(devicesDir, { recursive: true });
  const ports: DevicePortFiles[] = [];
  for (const address of options.addresses) {
    const portDir = path.join(dir, address);
    fs.mkdirSync(portDir, { recursive: true });
    const config = createSharedFile(path.join(portDir, 'config'), options.configBytes);
    const bar0 = createSharedFile(path.join(portDir, 'resource0'), options.bar0Bytes);
    fs.writeFileSync(path.join(portDir, 'vendor'), `0x${options.vendor.toString(16).padStart(4, '0')}\n`);
    fs.writeFileSync(path.join(portDir, 'device'), `0x${options.device.toString(16).padStart(4, '0')}\n`);
    fs.writeFileSync(path.join(portDir, 'class'), `0x${options.classCode.toString(16).padStart(6, '0')}\n`);
    if (dma !== null) {
      replaceSymlink(path.join('..', 'dma'), path.join(portDir, 'dma'));
      replaceSymlink(path.join('..', 'dma_base'), path.join(portDir, 'dma_base'));
    }
    replaceSymlink(path.join('..', '..', '..', address), path.join(devicesDir, address));
    ports.push({ address, dir: portDir, config, bar0 });
  }
  return {
    dir,
    ports,
    dma,
    dmaBase: options.dmaBase,
    release: () => {
      try {
        if (fs.readFileSync(pidFile, 'utf8').trim() === String(process.pid)) fs.unlinkSync(pidFile);
      } catch {
        // already gone
      }
    },
  };
}

function replaceSymlink(target: string, link: string): void {
  try {
    fs.unlinkSync(link);
  } catch {
    // did not exist
  }
  fs.symlinkSync(target, link);
}
