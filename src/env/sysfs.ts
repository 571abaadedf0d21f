// PCI devices and network interfaces in sysfs (Linux Documentation: PCI/sysfs-pci.rst,
// ABI/testing/sysfs-class-net, ABI/testing/sysfs-bus-pci). The root is configurable so everything here can run
// on a temporary directory laid out like /sys. Reading: listNetworkDevices and friends. Writing (the only part
// that changes the machine): bindDevice/unbindDevice at the end, following dpdk-devbind's conventions.
import * as fs from 'fs';
import * as path from 'path';
import { PCI_DEVICE_82599ES_SFP, PCI_VENDOR_INTEL, PciAddress, TinyNfError, parsePciAddress } from './environment';

/** PCI base class 0x02: network controller (PCI Code and ID Assignment Specification, Section 1.3). */
export const PCI_CLASS_NETWORK = 0x02;
/** net_device flags bit 0: IFF_UP, the interface is administratively up (include/uapi/linux/if.h). */
export const IFF_UP = 0x1;

export function pciDevicesDir(sysfsRoot: string): string {
  return path.join(sysfsRoot, 'bus', 'pci', 'devices');
}

export function pciDeviceDir(sysfsRoot: string, address: PciAddress): string {
  return path.join(pciDevicesDir(sysfsRoot), address);
}

/**
 * The sysfs directory of the device at `address` (normalised), or a one-line error if the address is malformed
 * or no such device exists under the sysfs root.
 */
export function existingPciDevice(sysfsRoot: string, address: string): { address: PciAddress; dir: string } {
  const a = parsePciAddress(address);
  const dir = pciDeviceDir(sysfsRoot, a);
  if (!fs.existsSync(dir)) {
    throw new TinyNfError(`no PCI device at ${a} (nothing at ${dir}); list devices with \`npx tinynf devices\``);
  }
  return { address: a, dir };
}

export interface NetInterface {
  readonly name: string;
  /** Administratively up (IFF_UP) or operationally up. */
  readonly up: boolean;
  /** The kernel's operstate ("up", "down", "unknown", ...), or "unknown" if unreadable. */
  readonly operstate: string;
}

export interface PciNetworkDevice {
  readonly address: PciAddress;
  readonly vendor: number;
  readonly device: number;
  /** 24-bit class code (base class, subclass, programming interface). */
  readonly classCode: number;
  /** Name of the bound kernel driver, or undefined. */
  readonly driver: string | undefined;
  readonly interfaces: NetInterface[];
  /** A NIC tinynf drives: an Intel 82599ES (8086:10fb) or a virtio-net device (1af4:1041 modern, 1af4:1000 legacy). */
  readonly supported: boolean;
  /** Which of those: '82599ES', 'virtio-net modern', 'virtio-net legacy', or null. */
  readonly model: SupportedModel | null;
}

/** Every PCI device of class 0x02xxxx under the sysfs root, sorted by address. Reads only. */
export function listNetworkDevices(sysfsRoot: string): PciNetworkDevice[] {
  const dir = pciDevicesDir(sysfsRoot);
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch (e) {
    throw new TinyNfError(`cannot list PCI devices in ${dir}: ${(e as Error).message}`);
  }
  const out: PciNetworkDevice[] = [];
  for (const address of names.sort()) {
    const info = readPciDevice(sysfsRoot, address);
    if (info !== undefined && info.classCode >>> 16 === PCI_CLASS_NETWORK) out.push(info);
  }
  return out;
}

/** What sysfs says about one PCI device, or undefined if its identity files are missing. */
export function readPciDevice(sysfsRoot: string, address: PciAddress): PciNetworkDevice | undefined {
  const dir = pciDeviceDir(sysfsRoot, address);
  const vendor = readHex(path.join(dir, 'vendor'));
  const device = readHex(path.join(dir, 'device'));
  const classCode = readHex(path.join(dir, 'class'));
  if (vendor === undefined || device === undefined || classCode === undefined) return undefined;
  return {
    address,
    vendor,
    device,
    classCode,
    driver: boundDriver(dir),
    interfaces: netInterfaces(sysfsRoot, dir),
    supported: supportedModel(vendor, device) !== null,
    model: supportedModel(vendor, device),
  };
}

export type SupportedModel = '82599ES' | 'virtio-net modern' | 'virtio-net legacy';

/**
 * The NIC models tinynf drives, by PCI identity: the 82599ES (src/ixgbe) and virtio-net (src/virtio; Virtio 1.1
 * Section 4.1.2: vendor 0x1af4, device 0x1041 = 0x1040 + type 1 for a modern device, 0x1000 for a transitional one).
 */
export function supportedModel(vendor: number, device: number): SupportedModel | null {
  if (vendor === PCI_VENDOR_INTEL && device === PCI_DEVICE_82599ES_SFP) return '82599ES';
  if (vendor === 0x1af4 && device === 0x1041) return 'virtio-net modern';
  if (vendor === 0x1af4 && device === 0x1000) return 'virtio-net legacy';
  return null;
}

/** Basename of the device's `driver` symlink, or undefined if no driver is bound. */
export function boundDriver(deviceDir: string): string | undefined {
  try {
    return path.basename(fs.readlinkSync(path.join(deviceDir, 'driver')));
  } catch {
    return undefined;
  }
}

/**
 * Network interfaces of a PCI device: the entries of its `net/` directory, or of `<child>/net/` one level down
 * (virtio devices put theirs under virtioN/net/).
 */
export function netInterfaces(sysfsRoot: string, deviceDir: string): NetInterface[] {
  const names: string[] = [];
  names.push(...listDir(path.join(deviceDir, 'net')));
  for (const child of listDir(deviceDir)) {
    if (child === 'net' || child === 'driver' || child === 'subsystem' || child === 'firmware_node') continue;
    const sub = path.join(deviceDir, child);
    if (isRealDirectory(sub)) names.push(...listDir(path.join(sub, 'net')));
  }
  return names.sort().map((name) => netInterface(sysfsRoot, name));
}

/** State of one interface from /sys/class/net/<name>/{operstate,flags}. */
export function netInterface(sysfsRoot: string, name: string): NetInterface {
  const dir = path.join(sysfsRoot, 'class', 'net', name);
  const operstate = readText(path.join(dir, 'operstate')) ?? 'unknown';
  const flags = readHex(path.join(dir, 'flags'));
  const up = operstate === 'up' || (flags !== undefined && (flags & IFF_UP) !== 0);
  return { name, up, operstate };
}

function listDir(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}

function isRealDirectory(p: string): boolean {
  try {
    return fs.lstatSync(p).isDirectory();
  } catch {
    return false;
  }
}

function readText(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** A sysfs number file such as "0x8086" or "0x020000" (hex, with or without 0x). */
function readHex(file: string): number | undefined {
  const t = readText(file);
  if (t === undefined) return undefined;
  const n = Number.parseInt(t.replace(/^0x/i, ''), 16);
  return Number.isNaN(n) ? undefined : n;
}

export function hex4(v: number): string {
  return v.toString(16).padStart(4, '0');
}

// ---- binding and unbinding drivers (dpdk-devbind conventions) -------------------------------------------

/** Drivers `tinynf bind` accepts. */
export const BIND_DRIVERS = ['uio_pci_generic', 'vfio-pci'] as const;
export type BindDriver = (typeof BIND_DRIVERS)[number];

export interface BindOptions {
  sysfsRoot?: string;
  /** Where procfs is mounted (default /proc), for the routing tables. */
  procRoot?: string;
  /** Unbind even if an interface of the device is up or routed. */
  force?: boolean;
  /** How to write a sysfs attribute (default fs.writeFileSync); tests substitute a fake kernel. */
  write?: (file: string, text: string) => void;
}

export interface BindResult {
  readonly address: PciAddress;
  /** The driver bound before, if any. */
  readonly previousDriver: string | undefined;
  /** The driver bound after, if any. */
  readonly driver: string | undefined;
  /** What was done, one line each, for the user. */
  readonly actions: string[];
}

/**
 * Why the device's interfaces are in use, as dpdk-devbind judges it: an interface that is up, or that the IPv4
 * or IPv6 routing table routes through (/proc/net/route, /proc/net/ipv6_route). Empty if none.
 */
export function interfacesInUse(sysfsRoot: string, procRoot: string, deviceDir: string): string[] {
  const routed = routedInterfaces(procRoot);
  const reasons: string[] = [];
  for (const i of netInterfaces(sysfsRoot, deviceDir)) {
    const why = [i.up ? 'is up' : '', routed.has(i.name) ? 'has routes' : ''].filter((w) => w !== '');
    if (why.length > 0) reasons.push(`interface ${i.name} ${why.join(' and ')}`);
  }
  return reasons;
}

/** Interface names with at least one route: first column of /proc/net/route, last of /proc/net/ipv6_route. */
export function routedInterfaces(procRoot: string): Set<string> {
  const names = new Set<string>();
  const v4 = readText(path.join(procRoot, 'net', 'route'));
  if (v4 !== undefined) {
    for (const line of v4.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f[0]) names.add(f[0]);
    }
  }
  const v6 = readText(path.join(procRoot, 'net', 'ipv6_route'));
  if (v6 !== undefined) {
    for (const line of v6.split('\n')) {
      const f = line.trim().split(/\s+/);
      if (f.length >= 10) names.add(f[f.length - 1]);
    }
  }
  names.delete('lo');
  return names;
}

/**
 * Detach the device at `address` from its kernel driver: write the address to <driver>/unbind. Refuses, with the
 * reason and the override flag, if an interface of the device is up or routed (unless `force`).
 */
export function unbindDevice(address: string, options: BindOptions = {}): BindResult {
  const o = bindDefaults(options);
  const dev = existingPciDevice(o.sysfsRoot, address);
  const current = boundDriver(dev.dir);
  if (current === undefined) {
    return { address: dev.address, previousDriver: undefined, driver: undefined, actions: [`${dev.address} is not bound to any driver`] };
  }
  const actions: string[] = [];
  detach(dev, current, o, actions);
  return { address: dev.address, previousDriver: current, driver: undefined, actions };
}

/**
 * Bind the device at `address` to `driver` the way dpdk-devbind does on kernels >= 3.15: unbind the current driver
 * (with the same refusal as unbindDevice), write the driver's name to driver_override, write the address to
 * <driver>/bind, clear driver_override (so the device can later go to any driver), and check the result.
 */
export function bindDevice(address: string, driver: BindDriver, options: BindOptions = {}): BindResult {
  const o = bindDefaults(options);
  if (!(BIND_DRIVERS as readonly string[]).includes(driver)) {
    throw new TinyNfError(`unsupported driver '${driver}': use one of ${BIND_DRIVERS.join(', ')}`);
  }
  const dev = existingPciDevice(o.sysfsRoot, address);
  const current = boundDriver(dev.dir);
  if (current === driver) {
    return { address: dev.address, previousDriver: current, driver, actions: [`${dev.address} is already bound to ${driver}`] };
  }
  const driverDir = path.join(o.sysfsRoot, 'bus', 'pci', 'drivers', driver);
  if (!fs.existsSync(driverDir)) {
    throw new TinyNfError(`kernel driver ${driver} is not loaded (no ${driverDir}): run \`sudo modprobe ${driver}\``);
  }
  if (driver === 'vfio-pci' && !iommuAvailable(o.sysfsRoot)) {
    throw new TinyNfError(
      `vfio-pci needs an IOMMU and ${path.join(o.sysfsRoot, 'kernel', 'iommu_groups')} is empty: ` +
        'enable it (intel_iommu=on iommu=pt on the kernel command line) or use --driver uio_pci_generic',
    );
  }
  const overrideFile = path.join(dev.dir, 'driver_override');
  if (!fs.existsSync(overrideFile)) {
    throw new TinyNfError(`${overrideFile} does not exist: binding needs Linux 3.15 or later`);
  }
  const actions: string[] = [];
  if (current !== undefined) detach(dev, current, o, actions);
  writeAttribute(o, overrideFile, driver, `set driver_override of ${dev.address}`);
  try {
    writeAttribute(o, path.join(driverDir, 'bind'), dev.address, `bind ${dev.address} to ${driver}`);
  } finally {
    // An empty write (a newline) clears driver_override (drivers/base/driver.c, driver_set_override).
    writeAttribute(o, overrideFile, '\n', `clear driver_override of ${dev.address}`);
  }
  const now = boundDriver(dev.dir);
  if (now !== driver) {
    throw new TinyNfError(
      `the kernel did not bind ${dev.address} to ${driver} (bound: ${now ?? 'none'}); see \`dmesg\` for why`,
    );
  }
  actions.push(`bound ${dev.address} to ${driver}`);
  return { address: dev.address, previousDriver: current, driver, actions };
}

function bindDefaults(o: BindOptions): Required<BindOptions> {
  return {
    sysfsRoot: o.sysfsRoot ?? '/sys',
    procRoot: o.procRoot ?? '/proc',
    force: o.force ?? false,
    write: o.write ?? ((file, text) => fs.writeFileSync(file, text)),
  };
}

function detach(dev: { address: PciAddress; dir: string }, current: string, o: Required<BindOptions>, actions: string[]): void {
  const inUse = interfacesInUse(o.sysfsRoot, o.procRoot, dev.dir);
  if (inUse.length > 0) {
    if (!o.force) {
      throw new TinyNfError(
        `refusing to unbind ${dev.address} from ${current}: ${inUse.join(', ')}; ` +
          'take it down first (ip link set <if> down) or pass --force',
      );
    }
    actions.push(`warning: ${inUse.join(', ')} (--force given)`);
  }
  writeAttribute(o, path.join(o.sysfsRoot, 'bus', 'pci', 'drivers', current, 'unbind'), dev.address, `unbind ${dev.address} from ${current}`);
  if (boundDriver(dev.dir) !== undefined) {
    throw new TinyNfError(`the kernel did not unbind ${dev.address} from ${current}; see \`dmesg\` for why`);
  }
  actions.push(`unbound ${dev.address} from ${current}`);
}

function writeAttribute(o: Required<BindOptions>, file: string, text: string, what: string): void {
  try {
    o.write(file, text);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EACCES' || code === 'EPERM') {
      throw new TinyNfError(`tinynf needs root to ${what} (${file}): run it with sudo`);
    }
    throw new TinyNfError(`cannot ${what} (${file}): ${(e as Error).message}`);
  }
}

/** An IOMMU is active if the kernel made any IOMMU group, or VFIO's unsafe no-IOMMU mode is on. */
function iommuAvailable(sysfsRoot: string): boolean {
  if (listDir(path.join(sysfsRoot, 'kernel', 'iommu_groups')).length > 0) return true;
  return readText(path.join(sysfsRoot, 'module', 'vfio', 'parameters', 'enable_unsafe_noiommu_mode')) === 'Y';
}

// ---- IOMMU groups (Linux Documentation: ABI/testing/sysfs-kernel-iommu_groups, driver-api/vfio.rst) -----------

/** The IOMMU group number of a device (basename of its `iommu_group` link), or undefined without an IOMMU. */
export function iommuGroupOf(sysfsRoot: string, address: PciAddress): number | undefined {
  try {
    const n = Number.parseInt(path.basename(fs.readlinkSync(path.join(pciDeviceDir(sysfsRoot, address), 'iommu_group'))), 10);
    return Number.isNaN(n) ? undefined : n;
  } catch {
    return undefined;
  }
}

export interface IommuGroup {
  readonly group: number;
  /** Every device of the group with its bound driver. */
  readonly devices: { address: PciAddress; driver: string | undefined }[];
  /**
   * What VFIO_GROUP_GET_STATUS will call viable: every device bound to vfio-pci or to no driver. (The kernel also
   * accepts a few "driver_override-safe" drivers such as pci-stub and PCI bridges bound to pcieport; tinynf
   * reports those as not viable, the stricter reading.)
   */
  readonly viable: boolean;
}

/** The IOMMU group of `address` and the drivers of its members, from sysfs; undefined without an IOMMU. */
export function iommuGroupInfo(sysfsRoot: string, address: PciAddress): IommuGroup | undefined {
  const group = iommuGroupOf(sysfsRoot, address);
  if (group === undefined) return undefined;
  const members = listDir(path.join(sysfsRoot, 'kernel', 'iommu_groups', String(group), 'devices')).sort();
  const devices = members.map((a) => ({ address: a, driver: boundDriver(pciDeviceDir(sysfsRoot, a)) }));
  if (devices.length === 0) devices.push({ address, driver: boundDriver(pciDeviceDir(sysfsRoot, address)) });
  const viable = devices.every((d) => d.driver === undefined || d.driver === 'vfio-pci');
  return { group, devices, viable };
}

/** One line for `tinynf bind --vfio`: the group, its size, viability, and which other members stand in the way. */
export function describeIommuGroup(g: IommuGroup, address: PciAddress): string {
  const blocking = g.devices.filter((d) => d.address !== address && d.driver !== undefined && d.driver !== 'vfio-pci');
  return (
    `IOMMU group ${g.group}: ${g.devices.length} device(s), ${g.viable ? 'viable' : 'NOT viable'}` +
    (blocking.length > 0 ? `; bind these to vfio-pci too (or unbind them): ${blocking.map((d) => `${d.address} (${d.driver})`).join(', ')}` : '')
  );
}
