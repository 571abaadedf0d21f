// `tinynf doctor`: pre-flight checks before touching hardware. Each check is a function returning a DoctorCheck
// {name, ok, detail, fix}; runDoctor puts them together. Everything here only READS (sysfs, procfs, the module
// lists, PCI configuration space through read-only opens), except checkLinkAfterInit, which runs a device
// initialisation given by the caller and is only used with `tinynf doctor --init`.
// See docs/hardware.md ("What `tinynf doctor` checks").
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { DeviceMemory, checkDeviceMemoryArchitecture } from './device-memory';
import { Environment, PCI_DEVICE_82599ES_SFP, PCI_VENDOR_INTEL, PciAddress, TinyNfError, parsePciAddress } from './environment';
import { HUGEPAGES_2M_DIR, SETUP_HUGEPAGES_COMMAND, findHugetlbfsMount, readHugepagePool } from './hugepages';
import { LinuxEnvironment } from './linux';
import { PCI_CONFIG_BAR0_LOW } from './pci-checks';
import {
  boundDriver,
  describeIommuGroup,
  hex4,
  interfacesInUse,
  iommuGroupInfo,
  listNetworkDevices,
  netInterfaces,
  pciDeviceDir,
  supportedModel,
} from './sysfs';
import { boundToVfio } from './vfio';
import { ADDON_NOT_BUILT, REBUILD_ADVICE, addonCandidates, findAddon } from './native/addon';

export interface DoctorCheck {
  /** What is checked, e.g. "hugepages" or "driver 0000:5e:00.0". */
  readonly name: string;
  readonly ok: boolean;
  /** What was found, one line. */
  readonly detail: string;
  /** For a failed check: the command to run or what to do, one line; null when ok. */
  readonly fix: string | null;
}

/** `ok   <name>: <detail>` or `FAIL <name>: <detail> -> fix: <fix>`. */
export function formatCheck(c: DoctorCheck): string {
  return c.ok ? `ok   ${c.name}: ${c.detail}` : `FAIL ${c.name}: ${c.detail} -> fix: ${c.fix ?? 'see docs/hardware.md'}`;
}

function ok(name: string, detail: string): DoctorCheck {
  return { name, ok: true, detail, fix: null };
}

function fail(name: string, detail: string, fix: string): DoctorCheck {
  return { name, ok: false, detail, fix };
}

const TINYNF = 'sudo npx tinynf';

// ---- the Intel 82599 family ------------------------------------------------------------------------------

/**
 * PCI device ids of 82599 physical functions, as named in Linux's drivers/net/ethernet/intel/ixgbe/ixgbe_type.h
 * (IXGBE_DEV_ID_82599_*), plus 0x10D8, the id of an 82599 whose EEPROM is blank: the data sheet's default Device
 * ID (Section 9.3.3.2) and "82599EB 10 Gigabit Unprogrammed" in pci.ids. Only 0x10FB is supported by tinynf's
 * driver (src/ixgbe checks for exactly 8086:10fb, as TinyNF does); the others are the same controller with another
 * port type (backplane, CX4, 10GBASE-T PHY, ...) or board, and are recognised only to say so. Virtual functions
 * (0x10ED, 0x152E) are not listed: a VF has no access to the registers the driver programs.
 */
export const KNOWN_82599_DEVICE_IDS: ReadonlyMap<number, string> = new Map([
  [0x10fb, '82599ES 10-Gigabit SFI/SFP+ (e.g. Ethernet Server Adapter X520-2, and OEM boards) [IXGBE_DEV_ID_82599_SFP]'],
  [0x10f7, '82599 KX4 backplane [IXGBE_DEV_ID_82599_KX4]'],
  [0x10f8, '82599 combined backplane [IXGBE_DEV_ID_82599_COMBO_BACKPLANE]'],
  [0x10f9, '82599 CX4 [IXGBE_DEV_ID_82599_CX4]'],
  [0x10fc, '82599 XAUI LOM [IXGBE_DEV_ID_82599_XAUI_LOM]'],
  [0x1507, '82599 SFP+ EM [IXGBE_DEV_ID_82599_SFP_EM]'],
  [0x1514, '82599 KX4 mezzanine [IXGBE_DEV_ID_82599_KX4_MEZZ]'],
  [0x1517, '82599 KR backplane [IXGBE_DEV_ID_82599_KR]'],
  [0x151c, '82599 with a 10GBASE-T PHY [IXGBE_DEV_ID_82599_T3_LOM]'],
  [0x1529, '82599 SFP+ with FCoE [IXGBE_DEV_ID_82599_SFP_FCOE]'],
  [0x152a, '82599 backplane with FCoE [IXGBE_DEV_ID_82599_BACKPLANE_FCOE]'],
  [0x154a, '82599 quad-port SFP+ [IXGBE_DEV_ID_82599_SFP_SF_QP]'],
  [0x154d, '82599 SFP+ SF2 [IXGBE_DEV_ID_82599_SFP_SF2]'],
  [0x154f, '82599 LS [IXGBE_DEV_ID_82599_LS]'],
  [0x1557, '82599EN SFP+ [IXGBE_DEV_ID_82599EN_SFP]'],
  [0x1558, '82599 QSFP+ [IXGBE_DEV_ID_82599_QSFP_SF_QP]'],
  [0x10d8, '82599 with a blank EEPROM ("Unprogrammed", the data sheet default id)'],
]);

export function is82599(vendor: number, device: number): boolean {
  return vendor === PCI_VENDOR_INTEL && KNOWN_82599_DEVICE_IDS.has(device);
}

// ---- the LINKS register --------------------------------------------------------------------------------------

// Section 8.2.3.22.20 Link Status Register - LINKS (BAR0 offset 0x042A4; read only)
// (section number as given in our reference note, not re-checked against the data sheet; the offset and the
//  fields below agree with Linux's ixgbe_type.h: IXGBE_LINKS, IXGBE_LINKS_UP, IXGBE_LINKS_SPEED_*_82599)
// Kept here and not in src/ixgbe/registers.ts because src/env must not import the driver; the driver does not
// read LINKS (TinyNF does not either: it never waits for the link).
export const LINKS = 0x042a4;
export const LINKS_LINK_UP = 1 << 30;
export const LINKS_LINK_SPEED = 0b11 << 28;
/** LINKS.LINK_SPEED values (bits 29:28): 01b 100 Mb/s, 10b 1 Gb/s, 11b 10 Gb/s; 00b is reserved on the 82599. */
const LINK_SPEED_NAMES = ['unknown speed (00b)', '100 Mb/s', '1 Gb/s', '10 Gb/s'];

export interface LinkStatus {
  readonly up: boolean;
  /** LINKS.LINK_SPEED (bits 29:28). */
  readonly speedCode: number;
  readonly speed: string;
}

export function decodeLinks(value: number): LinkStatus {
  const speedCode = ((value & LINKS_LINK_SPEED) >>> 28) & 0b11;
  return { up: (value & LINKS_LINK_UP) !== 0, speedCode, speed: LINK_SPEED_NAMES[speedCode] };
}

// ---- machine-wide checks ------------------------------------------------------------------------------------

export function checkRoot(euid: number | undefined): DoctorCheck {
  if (euid === 0) return ok('root', 'running as root (uid 0)');
  return fail(
    'root',
    `running as uid ${euid ?? 'unknown'}: DMA memory, physical addresses (pagemap) and BAR0 need root`,
    'run tinynf with sudo',
  );
}

/** The 2 MiB pool: at least one page reserved and free. */
/**
 * The CPU architecture: tinynf's device-memory accesses (plain 32-bit stores to BAR0 after descriptor stores to RAM)
 * are argued for x86-64's store ordering only (assumption ORDERING in src/ixgbe/registers.ts).
 */
export function checkCpuArchitecture(arch: string = process.arch): DoctorCheck {
  try {
    checkDeviceMemoryArchitecture(arch);
  } catch (e) {
    if (!(e instanceof TinyNfError)) throw e;
    return fail('cpu', e.message, 'run tinynf on an x86-64 (amd64) machine');
  }
  return ok('cpu', `${arch}: stores stay in program order (TSO), so plain 32-bit register writes after descriptor writes are safe`);
}

/**
 * The native addon (src/env/native/shm.cc) that maps BAR0 and DMA memory as SharedArrayBuffers is built and loads
 * in this Node.js. npm builds it when tinynf is installed, unless the project's npm skipped tinynf's install script
 * (npm 12 skips the install scripts of dependencies not approved in package.json `allowScripts`).
 */
export function checkNativeAddon(candidates: readonly string[] = addonCandidates()): DoctorCheck {
  const file = findAddon(candidates);
  if (file === undefined) return fail('addon', ADDON_NOT_BUILT, REBUILD_ADVICE);
  try {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    require(file);
  } catch (e) {
    const first = (e instanceof Error ? e.message : String(e)).split('\n')[0];
    return fail('addon', `${file} does not load in Node.js ${process.version}: ${first}`, REBUILD_ADVICE);
  }
  return ok('addon', `${file} loads (BAR0 and DMA memory are mapped through it)`);
}

export function checkHugepagePool(sysfsRoot: string): DoctorCheck {
  let pool: { total: number; free: number };
  try {
    pool = readHugepagePool(sysfsRoot);
  } catch (e) {
    return fail('hugepages', (e as Error).message, 'use a kernel with 2 MiB huge pages (CONFIG_HUGETLBFS), as every x86-64 distribution kernel is');
  }
  if (pool.total === 0) {
    return fail(
      'hugepages',
      `no 2 MiB huge pages reserved (${path.join(sysfsRoot, HUGEPAGES_2M_DIR, 'nr_hugepages')} is 0)`,
      `${SETUP_HUGEPAGES_COMMAND} (or hugepages=64 on the kernel command line)`,
    );
  }
  if (pool.free === 0) {
    return fail(
      'hugepages',
      `all ${pool.total} reserved 2 MiB huge pages are in use (0 free)`,
      `stop what holds them (another DPDK/tinynf process?) or reserve more: ${TINYNF} setup hugepages ${pool.total + 64}`,
    );
  }
  return ok('hugepages', `${pool.free} of ${pool.total} reserved 2 MiB huge pages free`);
}

/** A hugetlbfs of 2 MiB pages is mounted. */
export function checkHugetlbfs(mountsPath: string): DoctorCheck {
  let mount: string | undefined;
  try {
    mount = findHugetlbfsMount(mountsPath);
  } catch (e) {
    return fail('hugetlbfs', (e as Error).message, 'check that procfs is mounted');
  }
  if (mount === undefined) {
    return fail('hugetlbfs', `no hugetlbfs of 2 MiB pages mounted (none in ${mountsPath})`, SETUP_HUGEPAGES_COMMAND);
  }
  return ok('hugetlbfs', `2 MiB pages mounted at ${mount}`);
}

/** The kernel command line parameters that decide what the IOMMU does with DMA. */
export interface IommuCmdline {
  /** iommu=pt or iommu.passthrough=1: devices get an identity (untranslated) DMA domain by default. */
  readonly passthrough: boolean;
  /** intel_iommu=off, amd_iommu=off or iommu=off. */
  readonly disabled: boolean;
  /** The IOMMU parameters found, for messages. */
  readonly tokens: string[];
}

export function parseIommuCmdline(cmdline: string): IommuCmdline {
  const tokens = cmdline
    .trim()
    .split(/\s+/)
    .filter((t) => /^(intel_iommu|amd_iommu|iommu|iommu\.passthrough|iommu\.strict)=/.test(t));
  const values = (key: string) =>
    tokens.filter((t) => t.startsWith(key + '=')).flatMap((t) => t.slice(key.length + 1).split(','));
  const passthrough =
    values('iommu').includes('pt') || values('iommu.passthrough').some((v) => v === '1' || v === 'on' || v === 'y');
  const disabled = values('intel_iommu').includes('off') || values('amd_iommu').includes('off') || values('iommu').includes('off');
  return { passthrough, disabled, tokens };
}

/**
 * IOMMU state. tinynf gives the NIC physical addresses taken from /proc/self/pagemap; an IOMMU that translates the
 * NIC's DMA would read them as I/O virtual addresses, which map to nothing (the DMA faults) or to other memory. Fine:
 * no IOMMU (no groups in sysfs), or an IOMMU in passthrough mode (iommu=pt on the command line, or every group's
 * default domain of type "identity").
 */
export function checkIommu(sysfsRoot: string, procRoot: string, portsOnVfio = false): DoctorCheck {
  const groupsDir = path.join(sysfsRoot, 'kernel', 'iommu_groups');
  const groups = listDir(groupsDir);
  const cmdline = parseIommuCmdline(readText(path.join(procRoot, 'cmdline')) ?? '');
  const shown = cmdline.tokens.length > 0 ? cmdline.tokens.join(' ') : 'no IOMMU parameters';
  if (groups.length === 0) {
    return ok('iommu', `off (no IOMMU groups in ${groupsDir}; kernel command line: ${shown}): DMA addresses are physical addresses, as tinynf needs`);
  }
  const types = groups.map((g) => readText(path.join(groupsDir, g, 'type'))).filter((t): t is string => t !== undefined);
  const allIdentity = types.length === groups.length && types.every((t) => t === 'identity');
  if (cmdline.passthrough || allIdentity) {
    const why = cmdline.passthrough ? shown : 'every group\'s default domain is "identity"';
    return ok('iommu', `on in passthrough mode (${groups.length} groups; ${why}): DMA of devices not claimed by a VFIO user is not translated`);
  }
  const typeSummary = types.length > 0 ? `; group types: ${[...new Set(types)].join(', ')}` : '';
  if (portsOnVfio) {
    // src/env/vfio.ts: with every port on vfio-pci tinynf programs the IOMMU itself and gives the NIC IOVAs.
    return ok('iommu', `on and translating DMA (${groups.length} groups${typeSummary}): the ports are on vfio-pci, so tinynf uses VFIO and maps their DMA itself`);
  }
  return fail(
    'iommu',
    `on and translating DMA (${groups.length} groups; kernel command line: ${shown}${typeSummary}): ` +
      'the NIC would take the physical addresses tinynf reads from pagemap for I/O virtual addresses, so its DMA would fault or hit other memory',
    `bind the ports to vfio-pci (${TINYNF} bind --vfio ADDR): tinynf then uses VFIO, maps its DMA memory in the IOMMU, and the NIC can reach nothing else; ` +
      'or add iommu=pt to GRUB_CMDLINE_LINUX in /etc/default/grub, then `sudo update-grub` and reboot (or intel_iommu=off, or disable VT-d/AMD-Vi in the BIOS)',
  );
}

/**
 * Kernel lockdown (<sysfs>/kernel/security/lockdown, e.g. "none [integrity] confidentiality"). Both "integrity" and
 * "confidentiality" include LOCKDOWN_PCI_ACCESS, which makes drivers/pci/pci-sysfs.c refuse mmap of resource files
 * and writes to config: exactly what tinynf does. Distributions turn lockdown on when booted with Secure Boot.
 */
export function checkLockdown(sysfsRoot: string, portsOnVfio = false): DoctorCheck {
  const file = path.join(sysfsRoot, 'kernel', 'security', 'lockdown');
  const text = readText(file);
  if (text === undefined) return ok('lockdown', `no kernel lockdown (${file} absent)`);
  const active = /\[(\w+)\]/.exec(text)?.[1] ?? 'unknown';
  if (active === 'none') return ok('lockdown', 'none: BAR0 can be mapped and configuration space written through sysfs');
  if (portsOnVfio) {
    // ASSUMPTION (from the kernel sources, not tested here): LOCKDOWN_PCI_ACCESS guards the sysfs resource/config
    // files and /proc/bus/pci; vfio-pci's device fd is not behind it (only VFIO's no-IOMMU mode is refused).
    return ok('lockdown', `kernel lockdown is "${active}", which does not restrict VFIO: the ports are on vfio-pci`);
  }
  return fail(
    'lockdown',
    `kernel lockdown is "${active}": the kernel refuses mmap of resource0 and writes to config through sysfs (LOCKDOWN_PCI_ACCESS)`,
    'disable Secure Boot in the firmware setup (or `sudo mokutil --disable-validation`) and reboot',
  );
}

export interface ModuleState {
  readonly loaded: boolean;
  readonly available: boolean;
}

/** Module names as the kernel compares them: '-' and '_' are the same. */
function moduleKey(name: string): string {
  return name.replace(/-/g, '_');
}

/**
 * Whether a kernel module is loaded (<sysfs>/module/<name>, or its driver registered in <sysfs>/bus/pci/drivers) or
 * available (listed in <modulesRoot>/<release>/modules.dep or modules.builtin, the files modprobe reads).
 */
export function moduleState(name: string, sysfsRoot: string, modulesRoot: string, release: string): ModuleState {
  const loaded =
    fs.existsSync(path.join(sysfsRoot, 'module', moduleKey(name))) || fs.existsSync(path.join(sysfsRoot, 'bus', 'pci', 'drivers', name));
  const key = moduleKey(name);
  let available = false;
  for (const list of ['modules.dep', 'modules.builtin']) {
    const text = readText(path.join(modulesRoot, release, list));
    if (text === undefined) continue;
    for (const line of text.split('\n')) {
      const file = line.split(':')[0].trim();
      if (file === '') continue;
      const base = path.basename(file).replace(/\.ko(\.(xz|zst|gz))?$/, '');
      if (moduleKey(base) === key) {
        available = true;
        break;
      }
    }
    if (available) break;
  }
  return { loaded, available: available || loaded };
}

/** The drivers tinynf accepts on a port (none at all is fine too), and whether their modules can be loaded. */
export const USER_SPACE_DRIVERS = ['uio_pci_generic', 'vfio-pci'] as const;

export function checkModules(sysfsRoot: string, modulesRoot: string, release: string, portsNeedADriver: boolean): DoctorCheck {
  const states = USER_SPACE_DRIVERS.map((m) => ({ m, s: moduleState(m, sysfsRoot, modulesRoot, release) }));
  const describe = states
    .map(({ m, s }) => `${m} ${s.loaded ? 'loaded' : s.available ? 'available (not loaded)' : 'not available'}`)
    .join(', ');
  const uio = states[0].s;
  if (uio.loaded) return ok('modules', describe);
  if (uio.available) {
    return ok('modules', `${describe}; \`tinynf bind\` needs it loaded first: sudo modprobe uio_pci_generic`);
  }
  if (states[1].s.available) {
    return ok('modules', `${describe}; vfio-pci needs the IOMMU on (${TINYNF} bind --vfio ADDR; tinynf then uses VFIO)`);
  }
  if (!portsNeedADriver) {
    return ok('modules', `${describe}; not needed: every port checked is already unbound or bound to a user-space driver`);
  }
  return fail(
    'modules',
    `${describe} (looked in ${path.join(sysfsRoot, 'module')} and ${path.join(modulesRoot, release)})`,
    'install the kernel\'s extra modules (Ubuntu: sudo apt-get install linux-modules-extra-$(uname -r)) and sudo modprobe uio_pci_generic, ' +
      'or run with no driver at all: sudo npx tinynf unbind ADDR',
  );
}

// ---- per-device checks -------------------------------------------------------------------------------------

export interface DeviceCheckOptions {
  readonly sysfsRoot: string;
  readonly procRoot: string;
}

export interface DeviceChecks {
  readonly address: string;
  readonly checks: DoctorCheck[];
  /** Whether the device is an 82599ES that is not held by a kernel network driver (an init would be safe). */
  readonly readyForInit: boolean;
  /** Whether the device still needs `tinynf bind`/`unbind` (it is held by a kernel network driver). */
  readonly needsADriverChange: boolean;
  /** A virtio-net device (driven by `tinynf run --virtio`; no link to check after an init). */
  readonly virtio?: boolean;
}

/**
 * Every check of one port: it exists, its ids, its driver, its interfaces, its PCI command register and BAR0, its
 * IOMMU group. Reads only: sysfs attributes and the configuration space through read-only opens.
 */
export function checkDevice(addressText: string, o: DeviceCheckOptions): DeviceChecks {
  let address: PciAddress;
  try {
    address = parsePciAddress(addressText);
  } catch (e) {
    return {
      address: addressText,
      checks: [fail(`device ${addressText}`, (e as Error).message, `${TINYNF} devices lists the addresses`)],
      readyForInit: false,
      needsADriverChange: false,
    };
  }
  const dir = pciDeviceDir(o.sysfsRoot, address);
  if (!fs.existsSync(dir)) {
    return {
      address,
      checks: [fail(`device ${address}`, `no PCI device at ${address} (nothing at ${dir})`, `npx tinynf devices lists the PCI network devices; check the address`)],
      readyForInit: false,
      needsADriverChange: false,
    };
  }
  const checks: DoctorCheck[] = [ok(`device ${address}`, `present (${dir})`)];

  const vendor = readHexFile(path.join(dir, 'vendor'));
  const device = readHexFile(path.join(dir, 'device'));
  const model = vendor !== undefined && device !== undefined ? supportedModel(vendor, device) : null;
  const virtio = model === 'virtio-net modern' || model === 'virtio-net legacy';
  const idsOk = (vendor === PCI_VENDOR_INTEL && device === PCI_DEVICE_82599ES_SFP) || virtio;
  checks.push(virtio ? ok(`ids ${address}`, `${hex4(vendor!)}:${hex4(device!)} ${model}: supported (tinynf run --virtio, docs/virtio.md)`) : checkIds(address, vendor, device));

  const driver = boundDriver(dir);
  const driverOk = driver === undefined || (USER_SPACE_DRIVERS as readonly string[]).includes(driver);
  checks.push(checkDriver(address, driver));

  const inUse = interfacesInUse(o.sysfsRoot, o.procRoot, dir);
  checks.push(checkInterfaces(address, dir, o.sysfsRoot, inUse));

  const env = new LinuxEnvironment({ sysfsRoot: o.sysfsRoot });
  const pciOk = checkPciCommand(address, env, checks);
  const barOk = virtio ? checkVirtioBars(address, model === 'virtio-net legacy', env, checks) : checkBar0(address, dir, env, checks);
  const iommuOk = checkDeviceIommuGroup(address, dir, driver, checks, o.sysfsRoot);

  return {
    address,
    checks,
    readyForInit: idsOk && driverOk && inUse.length === 0 && pciOk && barOk && iommuOk,
    needsADriverChange: !driverOk,
    virtio,
  };
}

function checkIds(address: PciAddress, vendor: number | undefined, device: number | undefined): DoctorCheck {
  const name = `ids ${address}`;
  if (vendor === undefined || device === undefined) {
    return fail(name, 'vendor/device files unreadable in sysfs', 'check the address with npx tinynf devices');
  }
  const ids = `${hex4(vendor)}:${hex4(device)}`;
  if (vendor === PCI_VENDOR_INTEL && device === PCI_DEVICE_82599ES_SFP) {
    return ok(name, `${ids} ${KNOWN_82599_DEVICE_IDS.get(device)}: supported`);
  }
  if (is82599(vendor, device)) {
    return fail(
      name,
      `${ids} is an Intel ${KNOWN_82599_DEVICE_IDS.get(device)}, but tinynf's driver supports only 8086:10fb (82599ES SFI/SFP+) and refuses other ids`,
      'use an 82599ES SFP+ port (8086:10fb, e.g. an X520-DA2); other 82599 variants differ in PHY/link setup, which tinynf does not do',
    );
  }
  return fail(name, `${ids} is not an Intel 82599; tinynf drives only the 82599ES (8086:10fb)`, 'use an 82599ES SFP+ port (8086:10fb); npx tinynf devices marks them');
}

function checkDriver(address: PciAddress, driver: string | undefined): DoctorCheck {
  const name = `driver ${address}`;
  if (driver === undefined) return ok(name, 'no kernel driver bound (tinynf can drive it as it is)');
  if (driver === 'uio_pci_generic') return ok(name, 'uio_pci_generic');
  if (driver === 'vfio-pci') return ok(name, 'vfio-pci: tinynf uses VFIO (DMA memory mapped in the IOMMU at I/O virtual addresses)');
  return fail(
    name,
    `bound to ${driver}, which drives the NIC itself: tinynf and the kernel would fight over its registers and rings`,
    `${TINYNF} bind ${address} (uio_pci_generic) or ${TINYNF} unbind ${address}`,
  );
}

function checkInterfaces(address: PciAddress, dir: string, sysfsRoot: string, inUse: string[]): DoctorCheck {
  const name = `interface ${address}`;
  const ifs = netInterfaces(sysfsRoot, dir);
  if (inUse.length > 0) {
    const names = ifs.filter((i) => inUse.some((r) => r.startsWith(`interface ${i.name} `))).map((i) => i.name);
    return fail(
      name,
      `${inUse.join(', ')}: the kernel is using this port`,
      `${names.map((n) => `sudo ip link set ${n} down`).join(' && ')} (and move its addresses/routes elsewhere), then ${TINYNF} bind ${address}`,
    );
  }
  if (ifs.length === 0) return ok(name, 'no kernel network interface');
  return ok(name, `${ifs.map((i) => `${i.name} is down`).join(', ')}, no routes`);
}

// PCI Local Bus Specification 3.0, Section 6.2.2 Command register (82599 data sheet Section 9.3.3.3);
// PCI Power Management 1.2 PMCSR (82599 Section 9.3.7.1.4, at 0x44 in the 82599's configuration space).
const PCI_COMMAND = 0x04;
const PCI_COMMAND_MEMORY_ACCESS_ENABLE = 1 << 1;
const PCI_COMMAND_BUS_MASTER_ENABLE = 1 << 2;
// PCI Local Bus Specification 3.0, Section 6.7 Capabilities List: Status bit 4 (bit 20 of the dword at 0x04) says a
// list exists; its first pointer is at 0x34; each entry is ID (byte 0), next pointer (byte 1). The 82599's Power
// Management capability (ID 0x01) is at 0x40, so PMCSR is at 0x44 (82599 Section 9.3.7.1.4, as src/ixgbe/pci.ts).
const PCI_STATUS_CAPABILITIES_LIST = 1 << 20;
const PCI_CAPABILITIES_POINTER = 0x34;
const PCI_CAPABILITY_POWER_MANAGEMENT = 0x01;
const PCI_PMCSR_OFFSET = 4;
const PCI_PMCSR_POWER_STATE = 0b11;

/** Offset of the capability `id` in configuration space, or undefined. At most 48 entries (a loop guard). */
export function findCapability(read32: (offset: number) => number, id: number): number | undefined {
  if ((read32(PCI_COMMAND) & PCI_STATUS_CAPABILITIES_LIST) === 0) return undefined;
  let pointer = read32(PCI_CAPABILITIES_POINTER) & 0xfc;
  for (let i = 0; i < 48 && pointer >= 0x40; i++) {
    const header = read32(pointer);
    if ((header & 0xff) === id) return pointer;
    pointer = (header >>> 8) & 0xfc;
  }
  return undefined;
}

/** The Command register is readable (memory space / bus master state), and the function is in D0 if readable. */
function checkPciCommand(address: PciAddress, env: LinuxEnvironment, checks: DoctorCheck[]): boolean {
  const name = `pci ${address}`;
  let command: number;
  try {
    command = env.pciRead32(address, PCI_COMMAND) & 0xffff;
  } catch (e) {
    checks.push(fail(name, `configuration space not readable: ${(e as Error).message}`, 'run tinynf doctor with sudo'));
    return false;
  }
  const memory = (command & PCI_COMMAND_MEMORY_ACCESS_ENABLE) !== 0;
  const master = (command & PCI_COMMAND_BUS_MASTER_ENABLE) !== 0;
  const parts = [
    `command 0x${hex4(command)}: memory space ${memory ? 'enabled' : 'disabled'}, bus master ${master ? 'enabled' : 'disabled'}` +
      (memory && master ? '' : ' (the driver enables both at init)'),
  ];
  let power: number | undefined;
  try {
    const pm = findCapability((offset) => env.pciRead32(address, offset), PCI_CAPABILITY_POWER_MANAGEMENT);
    if (pm === undefined) {
      parts.push('no power management capability');
    } else {
      power = env.pciRead32(address, pm + PCI_PMCSR_OFFSET) & PCI_PMCSR_POWER_STATE;
      parts.push(`power state D${power}`);
    }
  } catch {
    parts.push('power state not readable (beyond the first 64 bytes of configuration space: root only)');
  }
  if (power !== undefined && power !== 0) {
    checks.push(
      fail(
        name,
        `${parts.join('; ')}: the driver needs D0 (leaving D3 resets the function)`,
        `echo on | sudo tee ${path.join('/sys/bus/pci/devices', address, 'power', 'control')} (keeps the function in D0)`,
      ),
    );
    return false;
  }
  checks.push(ok(name, parts.join('; ')));
  return true;
}

// PCI Local Bus Specification 3.0, Section 6.2.5.1 Base Address Registers: bit 0 = 0 memory; bits 2:1 = 10b 64-bit.
function checkBar0(address: PciAddress, dir: string, env: LinuxEnvironment, checks: DoctorCheck[]): boolean {
  const name = `bar0 ${address}`;
  let bar0: number;
  try {
    bar0 = env.pciRead32(address, PCI_CONFIG_BAR0_LOW) >>> 0;
  } catch (e) {
    checks.push(fail(name, `configuration space not readable: ${(e as Error).message}`, 'run tinynf doctor with sudo'));
    return false;
  }
  if ((bar0 & 1) !== 0) {
    checks.push(fail(name, `BAR0 0x${bar0.toString(16)} is an I/O BAR, not the 82599's memory BAR`, 'check the address: this is not an 82599 port as the data sheet describes it'));
    return false;
  }
  if ((bar0 & 0b110) !== 0b100) {
    // Some 8086:10fb boards come with a 32-bit BAR0 (a public lspci listing of an HP 560FLR-SFP+ shows
    // "Memory at ... (32-bit, non-prefetchable)"; presumably configured by the board's EEPROM: an assumption). The
    // environment's mapBar0 (pci-checks.ts) accepts only a 64-bit BAR0, as TinyNF's driver does.
    checks.push(
      fail(
        name,
        `BAR0 0x${bar0.toString(16)} is a 32-bit memory BAR (some OEM boards have one); tinynf's environment maps only a 64-bit BAR0`,
        'use a board whose BAR0 is 64-bit (lspci -v: "Memory at ... (64-bit, ...)"), e.g. an Intel X520-2',
      ),
    );
    return false;
  }
  const resource0 = path.join(dir, 'resource0');
  let size: number;
  try {
    size = fs.statSync(resource0).size;
  } catch {
    checks.push(fail(name, `${resource0} does not exist: the kernel did not map BAR0`, `look for BAR assignment errors: sudo dmesg | grep ${address}`));
    return false;
  }
  if (size < 128 * 1024) {
    checks.push(fail(name, `${resource0} is ${size} bytes, the 82599's registers need 128 KiB`, `look for BAR assignment errors: sudo dmesg | grep ${address}`));
    return false;
  }
  checks.push(ok(name, `64-bit memory BAR, ${resource0} is ${size / 1024} KiB`));
  return true;
}

/**
 * A virtio-net device's registers: legacy ones in I/O BAR0 (Virtio 1.1 Section 4.1.4.8), modern ones in the memory
 * BARs named by vendor-specific capabilities (ID 0x09, cfg_type 1 = common, 2 = notify: Section 4.1.4). The driver
 * (src/virtio/transport.ts) needs exactly these.
 */
function checkVirtioBars(address: PciAddress, legacy: boolean, env: LinuxEnvironment, checks: DoctorCheck[]): boolean {
  const name = `bars ${address}`;
  try {
    const read32 = (offset: number) => env.pciRead32(address, offset) >>> 0;
    if (legacy) {
      const bar0 = read32(PCI_CONFIG_BAR0_LOW);
      if ((bar0 & 1) !== 1) {
        checks.push(fail(name, `BAR0 0x${bar0.toString(16)} of this legacy virtio device is not an I/O BAR`, 'check the address (a legacy virtio-net device has its registers in I/O BAR0)'));
        return false;
      }
      checks.push(ok(name, `legacy virtio: registers in I/O BAR0 (port 0x${(bar0 & ~3).toString(16)}; accessed with pread/pwrite of resource0)`));
      return true;
    }
    const found = new Map<number, number>();
    if ((read32(PCI_COMMAND) & PCI_STATUS_CAPABILITIES_LIST) !== 0) {
      let pointer = read32(PCI_CAPABILITIES_POINTER) & 0xfc;
      for (let i = 0; i < 48 && pointer >= 0x40; i++) {
        const header = read32(pointer);
        if ((header & 0xff) === 0x09 && !found.has((header >>> 24) & 0xff)) found.set((header >>> 24) & 0xff, read32(pointer + 4) & 0xff);
        pointer = (header >>> 8) & 0xfc;
      }
    }
    const common = found.get(1);
    const notify = found.get(2);
    if (common === undefined || notify === undefined) {
      checks.push(fail(name, `no virtio ${common === undefined ? 'common' : 'notify'} configuration capability`, 'this is not a virtio 1.x device as the specification describes it'));
      return false;
    }
    for (const bar of new Set([common, notify])) {
      if (bar > 5 || (read32(PCI_CONFIG_BAR0_LOW + 4 * bar) & 1) !== 0) {
        checks.push(fail(name, `the virtio structures' BAR${bar} is not a memory BAR`, 'check the device'));
        return false;
      }
    }
    checks.push(ok(name, `modern virtio: common configuration in BAR${common}, notifications in BAR${notify} (memory BARs)`));
    return true;
  } catch (e) {
    checks.push(fail(name, `configuration space not readable: ${(e as Error).message}`, 'run tinynf doctor with sudo'));
    return false;
  }
}

/**
 * The device's IOMMU group (<dev>/iommu_group) and its default domain type (<group>/type, Linux >= 5.11):
 * "identity" means untranslated DMA; "DMA"/"DMA-FQ" translated; "blocked" no DMA at all.
 */
function checkDeviceIommuGroup(address: PciAddress, dir: string, driver: string | undefined, checks: DoctorCheck[], sysfsRoot: string): boolean {
  const name = `iommu ${address}`;
  let group: string;
  try {
    group = fs.readlinkSync(path.join(dir, 'iommu_group'));
  } catch {
    checks.push(ok(name, 'in no IOMMU group: its DMA is not translated'));
    return true;
  }
  const groupName = path.basename(group);
  if (driver === 'vfio-pci') {
    const info = iommuGroupInfo(sysfsRoot, address);
    if (info !== undefined && !info.viable) {
      checks.push(fail(name, `${describeIommuGroup(info, address)}: VFIO cannot open the group`, `bind the other members to vfio-pci (${TINYNF} bind --vfio ADDR) or unbind them (${TINYNF} unbind ADDR)`));
      return false;
    }
    checks.push(ok(name, `group ${groupName} (${info?.devices.length ?? 1} device(s)), viable: VFIO maps tinynf's DMA memory in the IOMMU`));
    return true;
  }
  const type = readText(path.join(path.resolve(dir, group), 'type'));
  if (type === undefined) {
    checks.push(ok(name, `group ${groupName}, domain type unknown (no type file before Linux 5.11): see the iommu check`));
    return true;
  }
  if (type === 'identity') {
    checks.push(ok(name, `group ${groupName}, domain "identity": DMA is not translated`));
    return true;
  }
  checks.push(
    fail(
      name,
      `group ${groupName}, domain "${type}": the IOMMU translates this port's DMA, so the physical addresses tinynf gives it are wrong`,
      `${TINYNF} bind --vfio ${address} (tinynf then uses VFIO and the IOMMU), or boot with iommu=pt (or intel_iommu=off); see the iommu check`,
    ),
  );
  return false;
}

/** The 82599 ports of the machine (any 82599 id), for `tinynf doctor` without addresses. */
export function find82599Ports(sysfsRoot: string): PciAddress[] {
  try {
    return listNetworkDevices(sysfsRoot)
      .filter((d) => is82599(d.vendor, d.device))
      .map((d) => d.address);
  } catch {
    return [];
  }
}

// ---- link state after an initialisation (--init) ---------------------------------------------------------

export interface LinkCheckOptions {
  /** How long to wait for LINKS.LINK_UP after the initialisation (default 10 s, polling every 100 ms as ixy). */
  readonly linkTimeoutUs?: number;
}

export const DEFAULT_LINK_TIMEOUT_US = 10_000_000;
const LINK_POLL_US = 100_000;

/**
 * Initialise the port with `init` (which RESETS the device: the caller passes the driver's Device.init), then map
 * BAR0 through the environment and read LINKS until the link is up or the timeout passes.
 */
export function checkLinkAfterInit(
  env: Environment,
  address: PciAddress,
  init: (env: Environment, address: PciAddress) => void,
  options: LinkCheckOptions = {},
): DoctorCheck {
  const name = `link ${address}`;
  try {
    init(env, address);
  } catch (e) {
    if (!(e instanceof TinyNfError)) throw e;
    return fail(name, `initialisation failed: ${e.message}`, 'see the message; docs/hardware.md lists the usual causes');
  }
  let links: number;
  let status: LinkStatus;
  try {
    const bar0 = new DeviceMemory(env.mapBar0(address), LINKS + 4);
    const timeout = options.linkTimeoutUs ?? DEFAULT_LINK_TIMEOUT_US;
    let waited = 0;
    links = bar0.read32(LINKS);
    status = decodeLinks(links);
    while (!status.up && waited < timeout) {
      const step = Math.min(LINK_POLL_US, timeout - waited);
      env.sleepUs(step);
      waited += step;
      links = bar0.read32(LINKS);
      status = decodeLinks(links);
    }
  } catch (e) {
    if (!(e instanceof TinyNfError)) throw e;
    return fail(name, `cannot read LINKS: ${e.message}`, 'see the message');
  }
  const raw = `LINKS 0x${(links >>> 0).toString(16).padStart(8, '0')}`;
  if (!status.up) {
    const waitedS = (options.linkTimeoutUs ?? DEFAULT_LINK_TIMEOUT_US) / 1e6;
    return fail(
      name,
      `down after init (${raw}, LINK_UP = 0 for ${waitedS} s)`,
      'check the SFP+ module or DAC cable and that the other end (generator port) is up; tinynf does not configure the link, it keeps the EEPROM settings',
    );
  }
  const slow = status.speedCode === 0b11 ? '' : ' (not 10 Gb/s: check the module and the link partner)';
  return ok(name, `up at ${status.speed} after init (${raw})${slow}`);
}

// ---- everything ---------------------------------------------------------------------------------------------

export interface DoctorOptions {
  sysfsRoot?: string;
  /** procfs (default /proc): cmdline, mounts, net/route. */
  procRoot?: string;
  /** Where the kernel modules are (default /lib/modules). */
  modulesRoot?: string;
  /** Kernel release (default os.release(), i.e. uname -r). */
  kernelRelease?: string;
  /** Effective user id (default process.geteuid()). */
  euid?: number;
  /** CPU architecture (default process.arch). */
  arch?: string;
  /** Where the native addon is looked for (default addonCandidates(), the package's own build). */
  addonCandidates?: readonly string[];
  /**
   * With --init: the device initialisation to run on each port that passed its checks, then LINKS is read. Without
   * it nothing is ever written to a device.
   */
  init?: {
    readonly env: Environment;
    readonly device: (env: Environment, address: PciAddress) => void;
    readonly linkTimeoutUs?: number;
  };
}

export interface DoctorReport {
  readonly ok: boolean;
  readonly checks: DoctorCheck[];
}

/**
 * All checks: root, CPU, native addon, huge pages, hugetlbfs, IOMMU, lockdown, modules, then each port (`addresses`, or every 82599 found), then
 * with `init` the link state of each port whose checks passed.
 */
export function runDoctor(addresses: string[], options: DoctorOptions = {}): DoctorReport {
  const sysfsRoot = options.sysfsRoot ?? '/sys';
  const procRoot = options.procRoot ?? '/proc';
  const euid = options.euid ?? (process.geteuid !== undefined ? process.geteuid() : undefined);
  const checks: DoctorCheck[] = [];
  const root = checkRoot(euid);
  checks.push(root);
  checks.push(checkCpuArchitecture(options.arch));
  checks.push(checkNativeAddon(options.addonCandidates));
  checks.push(checkHugepagePool(sysfsRoot));
  checks.push(checkHugetlbfs(path.join(procRoot, 'mounts')));
  const ports = addresses.length > 0 ? addresses : find82599Ports(sysfsRoot);
  const onVfio = ports.length > 0 && ports.every((a) => boundToVfio(sysfsRoot, a));
  checks.push(checkIommu(sysfsRoot, procRoot, onVfio));
  checks.push(checkLockdown(sysfsRoot, onVfio));

  const portChecks: DoctorCheck[] = [];
  if (addresses.length === 0) {
    if (ports.length === 0) {
      portChecks.push(
        fail('ports', 'no address given and no Intel 82599 among the PCI network devices', 'pass the ports to check (npx tinynf devices lists them), or install an 82599ES (X520) NIC'),
      );
    }
  }
  const devices = ports.map((a) => checkDevice(a, { sysfsRoot, procRoot }));
  for (const d of devices) portChecks.push(...d.checks);
  const needsADriverChange = devices.length === 0 || devices.some((d) => d.needsADriverChange);
  checks.push(checkModules(sysfsRoot, options.modulesRoot ?? '/lib/modules', options.kernelRelease ?? os.release(), needsADriverChange));
  checks.push(...portChecks);

  if (options.init !== undefined) {
    for (const d of devices) {
      if (!root.ok) {
        checks.push(fail(`link ${d.address}`, 'not attempted: initialising a device needs root', 'run tinynf doctor --init with sudo'));
      } else if (d.virtio === true) {
        checks.push(ok(`link ${d.address}`, 'not applicable: a virtio-net device has no link to wait for; tinynf run --virtio initialises it'));
      } else if (!d.readyForInit) {
        checks.push(fail(`link ${d.address}`, 'not attempted: the device checks above failed, and resetting it now could disturb the kernel', 'fix the checks above first'));
      } else {
        checks.push(checkLinkAfterInit(options.init.env, d.address, options.init.device, { linkTimeoutUs: options.init.linkTimeoutUs }));
      }
    }
  }
  return { ok: checks.every((c) => c.ok), checks };
}

// ---- small file helpers ----------------------------------------------------------------------------------

function listDir(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}

function readText(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch {
    return undefined;
  }
}

function readHexFile(file: string): number | undefined {
  const t = readText(file);
  if (t === undefined) return undefined;
  const n = Number.parseInt(t.replace(/^0x/i, ''), 16);
  return Number.isNaN(n) ? undefined : n;
}
