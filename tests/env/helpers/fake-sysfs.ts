// A temporary directory laid out like /sys, for tests of the Linux environment and the CLI that must never touch
// this machine's real devices: PCI devices (identity files, a 4096-byte `config`, a regular file standing in
// for `resource0`, a `driver` symlink, net interfaces) and the 2 MiB huge page pool files.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

export interface FakeInterface {
  name: string;
  operstate?: string;
  /** net_device flags (bit 0 = IFF_UP). */
  flags?: number;
  /** Put net/ under a child directory (as virtio does: virtio0/net/<name>). */
  child?: string;
}

export interface FakeDevice {
  address: string;
  vendor: number;
  device: number;
  /** 24-bit class code, default 0x020000 (Ethernet controller). */
  classCode?: number;
  /** BAR0 register value in config space; default 0xfe00000c (64-bit prefetchable memory). */
  bar0?: number;
  /** Size of the resource0 stand-in; 0 for none. Default 512 KiB (the 82599's BAR0). */
  resource0Bytes?: number;
  driver?: string;
  interfaces?: FakeInterface[];
  /** IOMMU group: an `iommu_group` link to kernel/iommu_groups/<n>, whose devices/ lists the device. */
  iommuGroup?: number;
}

export interface FakeSysfsOptions {
  devices?: FakeDevice[];
  /** Drivers present in bus/pci/drivers (each with bind/unbind files); drivers of devices are added too. */
  drivers?: string[];
  /** Number of IOMMU groups under kernel/iommu_groups (default 0). */
  iommuGroups?: number;
  hugepages?: { total: number; free: number };
  /** Directory mode of the root (default 0700 from mkdtemp). */
  mode?: number;
}

export interface FakeSysfs {
  root: string;
  deviceDir(address: string): string;
  cleanup(): void;
}

export function createFakeSysfs(options: FakeSysfsOptions = {}): FakeSysfs {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tinynf-sysfs-'));
  if (options.mode !== undefined) fs.chmodSync(root, options.mode);
  const devicesDir = path.join(root, 'bus', 'pci', 'devices');
  fs.mkdirSync(devicesDir, { recursive: true });
  fs.mkdirSync(path.join(root, 'class', 'net'), { recursive: true });
  for (const drv of options.drivers ?? []) addDriver(root, drv);
  for (const d of options.devices ?? []) addDevice(root, d);
  for (let g = 0; g < (options.iommuGroups ?? 0); g++) fs.mkdirSync(path.join(root, 'kernel', 'iommu_groups', `${g}`), { recursive: true });
  const hp = options.hugepages ?? { total: 0, free: 0 };
  const hpDir = path.join(root, 'kernel', 'mm', 'hugepages', 'hugepages-2048kB');
  fs.mkdirSync(hpDir, { recursive: true });
  fs.writeFileSync(path.join(hpDir, 'nr_hugepages'), `${hp.total}\n`);
  fs.writeFileSync(path.join(hpDir, 'free_hugepages'), `${hp.free}\n`);
  return {
    root,
    deviceDir: (address) => path.join(devicesDir, address),
    cleanup: () => fs.rmSync(root, { recursive: true, force: true }),
  };
}

function addDevice(root: string, d: FakeDevice): void {
  // Real sysfs: /sys/devices/pci0000:00/<addr> with a symlink in /sys/bus/pci/devices; we do the same.
  const real = path.join(root, 'devices', 'pci0000:00', d.address);
  fs.mkdirSync(real, { recursive: true });
  fs.symlinkSync(real, path.join(root, 'bus', 'pci', 'devices', d.address));
  const classCode = d.classCode ?? 0x020000;
  fs.writeFileSync(path.join(real, 'vendor'), `0x${d.vendor.toString(16).padStart(4, '0')}\n`);
  fs.writeFileSync(path.join(real, 'device'), `0x${d.device.toString(16).padStart(4, '0')}\n`);
  fs.writeFileSync(path.join(real, 'class'), `0x${classCode.toString(16).padStart(6, '0')}\n`);
  const config = Buffer.alloc(4096);
  config.writeUInt16LE(d.vendor, 0x00);
  config.writeUInt16LE(d.device, 0x02);
  config.writeUInt32LE((classCode << 8) >>> 0, 0x08); // class code (31:8) | revision (7:0)
  config.writeUInt32LE((d.bar0 ?? 0xfe00000c) >>> 0, 0x10);
  fs.writeFileSync(path.join(real, 'config'), config, { mode: 0o644 });
  const resourceBytes = d.resource0Bytes ?? 512 * 1024;
  if (resourceBytes > 0) {
    fs.writeFileSync(path.join(real, 'resource0'), Buffer.alloc(resourceBytes), { mode: 0o600 });
  }
  fs.writeFileSync(path.join(real, 'driver_override'), '(null)\n');
  if (d.driver !== undefined) {
    fs.symlinkSync(addDriver(root, d.driver), path.join(real, 'driver'));
  }
  if (d.iommuGroup !== undefined) {
    const groupDir = path.join(root, 'kernel', 'iommu_groups', `${d.iommuGroup}`);
    fs.mkdirSync(path.join(groupDir, 'devices'), { recursive: true });
    fs.symlinkSync(groupDir, path.join(real, 'iommu_group'));
    fs.symlinkSync(real, path.join(groupDir, 'devices', d.address));
  }
  for (const i of d.interfaces ?? []) {
    const netDir = path.join(real, ...(i.child !== undefined ? [i.child] : []), 'net', i.name);
    fs.mkdirSync(netDir, { recursive: true });
    if (i.operstate !== undefined) fs.writeFileSync(path.join(netDir, 'operstate'), `${i.operstate}\n`);
    if (i.flags !== undefined) fs.writeFileSync(path.join(netDir, 'flags'), `0x${i.flags.toString(16)}\n`);
    fs.symlinkSync(netDir, path.join(root, 'class', 'net', i.name));
  }
}

function addDriver(root: string, name: string): string {
  const dir = path.join(root, 'bus', 'pci', 'drivers', name);
  if (!fs.existsSync(dir)) {
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'bind'), '');
    fs.writeFileSync(path.join(dir, 'unbind'), '');
  }
  return dir;
}

/** A temporary procfs with the routing tables: IPv4 rows of [iface, destination hex], IPv6 interface names. */
export function createFakeProc(ipv4: string[], ipv6: string[] = []): { root: string; cleanup(): void } {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tinynf-proc-'));
  fs.mkdirSync(path.join(root, 'net'));
  const header = 'Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n';
  fs.writeFileSync(
    path.join(root, 'net', 'route'),
    header + ipv4.map((i) => `${i}\t0002000C\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n`).join(''),
  );
  fs.writeFileSync(
    path.join(root, 'net', 'ipv6_route'),
    ipv6
      .map((i) => `fe800000000000000000000000000000 40 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000001 00000000 00000001 ${i.padStart(8)}\n`)
      .join(''),
  );
  return { root, cleanup: () => fs.rmSync(root, { recursive: true, force: true }) };
}

/**
 * What the kernel does on writes to the binding attributes, acted out on a temporary sysfs root: unbind removes
 * the device's driver link, bind creates it (if driver_override allows), driver_override keeps the name (a lone
 * newline clears it). Every write is logged as [path relative to the root, text].
 */
export function fakeKernel(root: string): { log: [string, string][]; write(file: string, text: string): void } {
  const log: [string, string][] = [];
  const fail = (code: string, file: string) => Object.assign(new Error(`${code}: write ${file}`), { code });
  return {
    log,
    write(file: string, text: string) {
      log.push([path.relative(root, file), text]);
      const base = path.basename(file);
      if (base === 'driver_override') {
        fs.writeFileSync(file, text === '\n' ? '(null)\n' : `${text}\n`);
        return;
      }
      const drvDir = path.dirname(file);
      const devLink = path.join(root, 'bus', 'pci', 'devices', text, 'driver');
      if (base === 'unbind') {
        if (!fs.existsSync(devLink) || fs.realpathSync(devLink) !== fs.realpathSync(drvDir)) throw fail('ENODEV', file);
        fs.unlinkSync(devLink);
      } else if (base === 'bind') {
        const override = fs.readFileSync(path.join(root, 'bus', 'pci', 'devices', text, 'driver_override'), 'utf8').trim();
        if (fs.existsSync(devLink) || (override !== '(null)' && override !== path.basename(drvDir))) throw fail('ENODEV', file);
        fs.symlinkSync(drvDir, devLink);
      } else {
        throw fail('EINVAL', file);
      }
    },
  };
}

export const isRoot = process.geteuid !== undefined && process.geteuid() === 0;

/** `describe` when running as root, else a skipped describe with a console message saying why. */
export function describeAsRoot(name: string, fn: () => void): void {
  if (isRoot) {
    describe(name, fn);
  } else {
    // eslint-disable-next-line no-console
    console.log(`skipping '${name}': these tests need root (run the suite with sudo)`);
    describe.skip(name, fn);
  }
}
