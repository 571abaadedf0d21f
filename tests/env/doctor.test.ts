// The doctor's checks on temporary sysfs/procfs/module trees: every check's verdict, detail and fix for fake
// machines (an 82599 held by ixgbe with its interface up, an unbound 82599, wrong ids, a missing device, no huge
// pages, an IOMMU translating DMA, ...), that nothing is written without --init, and the LINKS check after an init.
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  DoctorCheck,
  LINKS,
  checkCpuArchitecture,
  checkIommu,
  checkLinkAfterInit,
  checkLockdown,
  checkModules,
  checkNativeAddon,
  decodeLinks,
  findCapability,
  formatCheck,
  moduleState,
  parseIommuCmdline,
  runDoctor,
} from '../../src/env/doctor';
import { Environment, TinyNfError } from '../../src/env/environment';
import { LinuxEnvironment } from '../../src/env/linux';
import { findAddon } from '../../src/env/native/addon';
import { FakeDevice, FakeSysfs, createFakeProc, createFakeSysfs, describeAsRoot } from './helpers/fake-sysfs';

const A = '0000:5e:00.0';
const B = '0000:5e:00.1';
const X520 = { vendor: 0x8086, device: 0x10fb };
const HUGETLBFS_LINE = 'hugetlbfs /dev/hugepages hugetlbfs rw,relatime,pagesize=2M 0 0\n';
const RELEASE = '6.1.0-test-amd64';

interface Machine {
  sys: FakeSysfs;
  proc: string;
  modules: string;
  cleanup(): void;
}

/** A fake machine: sysfs (devices, hugepages, iommu groups), procfs (routes, cmdline, mounts), /lib/modules. */
function machine(o: {
  devices?: FakeDevice[];
  hugepages?: { total: number; free: number };
  iommuGroups?: number;
  routes?: string[];
  cmdline?: string;
  mounts?: string;
  modulesDep?: string;
  loadedModules?: string[];
}): Machine {
  const sys = createFakeSysfs({ devices: o.devices, hugepages: o.hugepages ?? { total: 64, free: 64 }, iommuGroups: o.iommuGroups });
  const proc = createFakeProc(o.routes ?? []);
  fs.writeFileSync(path.join(proc.root, 'cmdline'), (o.cmdline ?? 'BOOT_IMAGE=/vmlinuz root=/dev/sda1 ro quiet') + '\n');
  fs.writeFileSync(path.join(proc.root, 'mounts'), 'proc /proc proc rw 0 0\n' + (o.mounts ?? HUGETLBFS_LINE));
  const modules = fs.mkdtempSync(path.join(os.tmpdir(), 'tinynf-modules-'));
  fs.mkdirSync(path.join(modules, RELEASE));
  fs.writeFileSync(path.join(modules, RELEASE, 'modules.dep'), o.modulesDep ?? 'kernel/drivers/uio/uio_pci_generic.ko.xz: kernel/drivers/uio/uio.ko.xz\n');
  fs.writeFileSync(path.join(modules, RELEASE, 'modules.builtin'), 'kernel/drivers/pci/pci-stub.ko\n');
  for (const m of o.loadedModules ?? []) fs.mkdirSync(path.join(sys.root, 'module', m), { recursive: true });
  return {
    sys,
    proc: proc.root,
    modules,
    cleanup() {
      sys.cleanup();
      proc.cleanup();
      fs.rmSync(modules, { recursive: true, force: true });
    },
  };
}

function doctor(m: Machine, addresses: string[], extra: Partial<Parameters<typeof runDoctor>[1]> = {}) {
  return runDoctor(addresses, { sysfsRoot: m.sys.root, procRoot: m.proc, modulesRoot: m.modules, kernelRelease: RELEASE, euid: 0, ...extra });
}

function byName(checks: DoctorCheck[], name: string): DoctorCheck {
  const c = checks.find((x) => x.name === name);
  if (c === undefined) throw new Error(`no check named '${name}' in ${checks.map((x) => x.name).join(', ')}`);
  return c;
}

/** sha256 of every regular file under `dir` (symlinks not followed): to prove a run wrote nothing. */
function snapshot(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) out.set(p, crypto.createHash('sha256').update(fs.readFileSync(p)).digest('hex'));
    }
  };
  walk(dir);
  return out;
}

const UP = { name: 'ens1f0', operstate: 'up', flags: 0x1003 };

describe('doctor on an 82599 still held by ixgbe with its interface up', () => {
  let m: Machine;
  beforeAll(() => {
    m = machine({ devices: [{ address: A, ...X520, driver: 'ixgbe', interfaces: [UP] }], routes: ['ens1f0'] });
  });
  afterAll(() => m.cleanup());

  it('FAILs the driver and interface checks, each with its fix, and the report is not ok', () => {
    const r = doctor(m, [A]);
    expect(r.ok).toBe(false);
    expect(formatCheck(byName(r.checks, `driver ${A}`))).toBe(
      `FAIL driver ${A}: bound to ixgbe, which drives the NIC itself: tinynf and the kernel would fight over its registers and rings` +
        ` -> fix: sudo npx tinynf bind ${A} (uio_pci_generic) or sudo npx tinynf unbind ${A}`,
    );
    expect(formatCheck(byName(r.checks, `interface ${A}`))).toBe(
      `FAIL interface ${A}: interface ens1f0 is up and has routes: the kernel is using this port` +
        ` -> fix: sudo ip link set ens1f0 down (and move its addresses/routes elsewhere), then sudo npx tinynf bind ${A}`,
    );
    // the rest of the device is fine
    expect(byName(r.checks, `ids ${A}`).ok).toBe(true);
    expect(byName(r.checks, `device ${A}`).ok).toBe(true);
    expect(byName(r.checks, `bar0 ${A}`)).toMatchObject({ ok: true, detail: expect.stringMatching(/^64-bit memory BAR, .*resource0 is 512 KiB$/) });
  });

  it('with --init does not even try to initialise it (a reset would pull the port from under the kernel)', () => {
    const calls: string[] = [];
    const before = snapshot(m.sys.root);
    const r = doctor(m, [A], { init: { env: new LinuxEnvironment({ sysfsRoot: m.sys.root }), device: (_e, a) => calls.push(a) } });
    expect(calls).toEqual([]);
    expect(byName(r.checks, `link ${A}`)).toEqual({
      name: `link ${A}`,
      ok: false,
      detail: 'not attempted: the device checks above failed, and resetting it now could disturb the kernel',
      fix: 'fix the checks above first',
    });
    expect(snapshot(m.sys.root)).toEqual(before);
  });

  it('an interface that is down but bound to ixgbe still FAILs the driver check only', () => {
    const m2 = machine({ devices: [{ address: A, ...X520, driver: 'ixgbe', interfaces: [{ name: 'ens1f0', operstate: 'down', flags: 0x1002 }] }] });
    try {
      const r = doctor(m2, [A]);
      expect(byName(r.checks, `driver ${A}`).ok).toBe(false);
      expect(byName(r.checks, `interface ${A}`)).toMatchObject({ ok: true, detail: 'ens1f0 is down, no routes' });
    } finally {
      m2.cleanup();
    }
  });
});

describe('doctor on a machine ready for tinynf', () => {
  let m: Machine;
  beforeAll(() => {
    m = machine({
      devices: [
        { address: A, ...X520 },
        { address: B, ...X520, driver: 'uio_pci_generic' },
      ],
      loadedModules: ['uio_pci_generic'],
    });
  });
  afterAll(() => m.cleanup());

  it('says ok to everything, machine-wide and per port, in a fixed order', () => {
    const r = doctor(m, [A, B]);
    const lines = r.checks.map(formatCheck);
    expect(r.ok).toBe(true);
    expect(lines).toEqual([
      'ok   root: running as root (uid 0)',
      'ok   cpu: x64: stores stay in program order (TSO), so plain 32-bit register writes after descriptor writes are safe',
      `ok   addon: ${findAddon()} loads (BAR0 and DMA memory are mapped through it)`,
      'ok   hugepages: 64 of 64 reserved 2 MiB huge pages free',
      'ok   hugetlbfs: 2 MiB pages mounted at /dev/hugepages',
      `ok   iommu: off (no IOMMU groups in ${m.sys.root}/kernel/iommu_groups; kernel command line: no IOMMU parameters): DMA addresses are physical addresses, as tinynf needs`,
      `ok   lockdown: no kernel lockdown (${m.sys.root}/kernel/security/lockdown absent)`,
      'ok   modules: uio_pci_generic loaded, vfio-pci not available',
      ...[A, B].flatMap((a) => [
        `ok   device ${a}: present (${m.sys.deviceDir(a)})`,
        `ok   ids ${a}: 8086:10fb 82599ES 10-Gigabit SFI/SFP+ (e.g. Ethernet Server Adapter X520-2, and OEM boards) [IXGBE_DEV_ID_82599_SFP]: supported`,
        a === A ? `ok   driver ${a}: no kernel driver bound (tinynf can drive it as it is)` : `ok   driver ${a}: uio_pci_generic`,
        `ok   interface ${a}: no kernel network interface`,
        // the fake config space has the Command register at 0 and no capability list
        `ok   pci ${a}: command 0x0000: memory space disabled, bus master disabled (the driver enables both at init); no power management capability`,
        `ok   bar0 ${a}: 64-bit memory BAR, ${m.sys.deviceDir(a)}/resource0 is 512 KiB`,
        `ok   iommu ${a}: in no IOMMU group: its DMA is not translated`,
      ]),
    ]);
  });

  it('writes nothing anywhere (sysfs, procfs, modules)', () => {
    const before = [snapshot(m.sys.root), snapshot(m.proc), snapshot(m.modules)];
    doctor(m, [A, B]);
    expect([snapshot(m.sys.root), snapshot(m.proc), snapshot(m.modules)]).toEqual(before);
  });

  it('without addresses checks every 82599 it finds, and nothing else', () => {
    const m2 = machine({
      devices: [
        { address: '0000:01:00.0', vendor: 0x8086, device: 0x1521, driver: 'igb' }, // I350: not an 82599
        { address: A, ...X520 },
        { address: '0000:5f:00.0', vendor: 0x8086, device: 0x154d }, // another 82599
      ],
    });
    try {
      const names = doctor(m2, []).checks.filter((c) => c.name.startsWith('ids ')).map((c) => c.name);
      expect(names).toEqual([`ids ${A}`, 'ids 0000:5f:00.0']);
    } finally {
      m2.cleanup();
    }
  });

  it('without addresses and without any 82599 FAILs "ports"', () => {
    const m2 = machine({ devices: [{ address: '0000:00:03.0', vendor: 0x1af4, device: 0x1041, driver: 'virtio-pci' }] });
    try {
      const r = doctor(m2, []);
      expect(r.ok).toBe(false);
      expect(byName(r.checks, 'ports')).toMatchObject({ ok: false, detail: 'no address given and no Intel 82599 among the PCI network devices' });
      expect(r.checks.some((c) => c.name.includes('0000:00:03.0'))).toBe(false);
    } finally {
      m2.cleanup();
    }
  });
});

describe('doctor on wrong or missing devices', () => {
  let m: Machine;
  beforeAll(() => {
    m = machine({
      devices: [
        { address: '0000:01:00.0', vendor: 0x8086, device: 0x1521 }, // I350
        { address: '0000:02:00.0', vendor: 0x8086, device: 0x154d }, // 82599 SFP_SF2
        { address: '0000:03:00.0', vendor: 0x8086, device: 0x10d8 }, // 82599, blank EEPROM
        { address: '0000:04:00.0', ...X520, bar0: 0xfe000000 }, // 32-bit memory BAR0
        { address: '0000:05:00.0', ...X520, resource0Bytes: 0 }, // BAR0 not mapped
      ],
    });
  });
  afterAll(() => m.cleanup());

  it('a device that is not an 82599 FAILs its ids check', () => {
    const c = byName(doctor(m, ['0000:01:00.0']).checks, 'ids 0000:01:00.0');
    expect(formatCheck(c)).toBe(
      'FAIL ids 0000:01:00.0: 8086:1521 is not an Intel 82599; tinynf drives only the 82599ES (8086:10fb) -> fix: use an 82599ES SFP+ port (8086:10fb); npx tinynf devices marks them',
    );
  });

  it('another 82599 variant is recognised, and FAILs because only 8086:10fb is supported', () => {
    const r = doctor(m, ['0000:02:00.0', '0000:03:00.0']);
    expect(byName(r.checks, 'ids 0000:02:00.0')).toMatchObject({
      ok: false,
      detail:
        "8086:154d is an Intel 82599 SFP+ SF2 [IXGBE_DEV_ID_82599_SFP_SF2], but tinynf's driver supports only 8086:10fb (82599ES SFI/SFP+) and refuses other ids",
    });
    expect(byName(r.checks, 'ids 0000:03:00.0').detail).toMatch(/^8086:10d8 is an Intel 82599 with a blank EEPROM/);
  });

  it('a 32-bit BAR0 or a missing resource0 FAILs the bar0 check', () => {
    const r = doctor(m, ['0000:04:00.0', '0000:05:00.0']);
    expect(byName(r.checks, 'bar0 0000:04:00.0')).toMatchObject({
      ok: false,
      detail: "BAR0 0xfe000000 is a 32-bit memory BAR (some OEM boards have one); tinynf's environment maps only a 64-bit BAR0",
    });
    expect(byName(r.checks, 'bar0 0000:05:00.0')).toMatchObject({
      ok: false,
      detail: `${m.sys.deviceDir('0000:05:00.0')}/resource0 does not exist: the kernel did not map BAR0`,
    });
  });

  it('a missing device FAILs once, with no further checks for that address; a malformed one too', () => {
    const r = doctor(m, ['0000:99:00.0', 'zz:00.0']);
    const forMissing = r.checks.filter((c) => c.name.endsWith('0000:99:00.0'));
    expect(forMissing.map(formatCheck)).toEqual([
      `FAIL device 0000:99:00.0: no PCI device at 0000:99:00.0 (nothing at ${m.sys.deviceDir('0000:99:00.0')}) -> fix: npx tinynf devices lists the PCI network devices; check the address`,
    ]);
    expect(byName(r.checks, 'device zz:00.0')).toMatchObject({ ok: false, detail: expect.stringMatching(/^malformed PCI address 'zz:00.0'/) });
    expect(r.ok).toBe(false);
  });

  it('short addresses are normalised (5e:00.0 is 0000:5e:00.0)', () => {
    const m2 = machine({ devices: [{ address: A, ...X520 }] });
    try {
      expect(byName(doctor(m2, ['5e:00.0']).checks, `device ${A}`).ok).toBe(true);
    } finally {
      m2.cleanup();
    }
  });

  it('a function in D3 FAILs the pci check (the driver needs D0); the capability list is walked', () => {
    const m2 = machine({ devices: [{ address: A, ...X520 }] });
    try {
      const config = path.join(m2.sys.deviceDir(A), 'config');
      const bytes = fs.readFileSync(config);
      bytes.writeUInt16LE(0x0006, 0x04); // Command: memory + bus master
      bytes.writeUInt16LE(0x0010, 0x06); // Status: capabilities list
      bytes[0x34] = 0x50; // first capability: MSI at 0x50, then power management at 0x40 (order does not matter)
      bytes.writeUInt16LE(0x4005, 0x50); // ID 0x05 (MSI), next 0x40
      bytes.writeUInt16LE(0x0001, 0x40); // ID 0x01 (PM), next 0
      bytes.writeUInt16LE(0x0003, 0x44); // PMCSR.PowerState = D3hot
      fs.writeFileSync(config, bytes);
      const env = new LinuxEnvironment({ sysfsRoot: m2.sys.root });
      expect(findCapability((o) => env.pciRead32(A, o), 0x01)).toBe(0x40);
      expect(findCapability((o) => env.pciRead32(A, o), 0x10)).toBeUndefined();
      expect(formatCheck(byName(doctor(m2, [A]).checks, `pci ${A}`))).toBe(
        `FAIL pci ${A}: command 0x0006: memory space enabled, bus master enabled; power state D3: the driver needs D0 (leaving D3 resets the function)` +
          ` -> fix: echo on | sudo tee /sys/bus/pci/devices/${A}/power/control (keeps the function in D0)`,
      );
      bytes.writeUInt16LE(0x0000, 0x44);
      fs.writeFileSync(config, bytes);
      expect(byName(doctor(m2, [A]).checks, `pci ${A}`)).toMatchObject({ ok: true, detail: 'command 0x0006: memory space enabled, bus master enabled; power state D0' });
    } finally {
      m2.cleanup();
    }
  });
});

describe('machine-wide checks', () => {
  it('root: ok for uid 0, FAIL with "sudo" otherwise', () => {
    const m = machine({});
    try {
      expect(formatCheck(byName(doctor(m, [], { euid: 1000 }).checks, 'root'))).toBe(
        'FAIL root: running as uid 1000: DMA memory, physical addresses (pagemap) and BAR0 need root -> fix: run tinynf with sudo',
      );
      expect(byName(doctor(m, [], { euid: 0 }).checks, 'root').ok).toBe(true);
    } finally {
      m.cleanup();
    }
  });

  it('huge pages: none reserved, all in use, and no hugetlbfs mount each FAIL with the command that fixes it', () => {
    const none = machine({ hugepages: { total: 0, free: 0 }, mounts: '' });
    const used = machine({ hugepages: { total: 16, free: 0 } });
    try {
      const r = doctor(none, []);
      expect(formatCheck(byName(r.checks, 'hugepages'))).toBe(
        `FAIL hugepages: no 2 MiB huge pages reserved (${none.sys.root}/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages is 0)` +
          ' -> fix: sudo npx tinynf setup hugepages 64 (or hugepages=64 on the kernel command line)',
      );
      expect(formatCheck(byName(r.checks, 'hugetlbfs'))).toBe(
        `FAIL hugetlbfs: no hugetlbfs of 2 MiB pages mounted (none in ${none.proc}/mounts) -> fix: sudo npx tinynf setup hugepages 64`,
      );
      expect(byName(doctor(used, []).checks, 'hugepages')).toMatchObject({
        ok: false,
        detail: 'all 16 reserved 2 MiB huge pages are in use (0 free)',
        fix: 'stop what holds them (another DPDK/tinynf process?) or reserve more: sudo npx tinynf setup hugepages 80',
      });
    } finally {
      none.cleanup();
      used.cleanup();
    }
  });

  it('a hugetlbfs of 1 GiB pages does not count', () => {
    const m = machine({ mounts: 'nodev /mnt/huge1g hugetlbfs rw,pagesize=1024M 0 0\n' });
    try {
      expect(byName(doctor(m, []).checks, 'hugetlbfs').ok).toBe(false);
    } finally {
      m.cleanup();
    }
  });

  it('parses the IOMMU parameters of a kernel command line', () => {
    expect(parseIommuCmdline('ro quiet intel_iommu=on iommu=pt')).toEqual({ passthrough: true, disabled: false, tokens: ['intel_iommu=on', 'iommu=pt'] });
    expect(parseIommuCmdline('intel_iommu=on,sm_on')).toEqual({ passthrough: false, disabled: false, tokens: ['intel_iommu=on,sm_on'] });
    expect(parseIommuCmdline('iommu.passthrough=1')).toMatchObject({ passthrough: true });
    expect(parseIommuCmdline('amd_iommu=off')).toMatchObject({ passthrough: false, disabled: true });
    expect(parseIommuCmdline('root=/dev/sda1 myiommu=pt')).toEqual({ passthrough: false, disabled: false, tokens: [] });
  });

  it('addon: ok when the built tinynf_shm.node loads; FAIL with the npm commands to build it when it is missing or does not load', () => {
    expect(checkNativeAddon()).toMatchObject({ name: 'addon', ok: true });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tinynf-addon-'));
    try {
      const missing = formatCheck(checkNativeAddon([path.join(dir, 'tinynf_shm.node')]));
      expect(missing).toBe(
        "FAIL addon: the native addon tinynf_shm.node is not built (tinynf's install script did not run, or failed) -> fix: in your project," +
          ' `npm approve-scripts tinynf koffi` (npm 11.16 and later ask for it; npm 12 skips the install scripts of unapproved' +
          ' dependencies), then `npm rebuild tinynf koffi`; in a tinynf checkout, `npm install`',
      );
      const broken = path.join(dir, 'tinynf_shm.node');
      fs.writeFileSync(broken, 'not a shared object');
      const check = checkNativeAddon([broken]);
      expect(check.ok).toBe(false);
      expect(formatCheck(check)).toMatch(new RegExp(`^FAIL addon: ${broken.replace(/[.]/g, '\\.')} does not load in Node\\.js v[0-9.]+: .+ -> fix: in your project, \`npm approve-scripts tinynf koffi\``));
      expect(formatCheck(check)).not.toContain('\n');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('CPU: x64 is ok; any other architecture FAILs with one line (the register-write ordering is argued for x86-64 only)', () => {
    expect(checkCpuArchitecture('x64').ok).toBe(true);
    expect(formatCheck(checkCpuArchitecture('arm64'))).toBe(
      'FAIL cpu: tinynf drives device memory only on x86-64 (this CPU is arm64): its register writes rely on x86-64 store ordering' +
        ' -> fix: run tinynf on an x86-64 (amd64) machine',
    );
  });

  it('IOMMU: groups without passthrough FAIL with the consequence and the fix; iommu=pt or identity domains are ok', () => {
    const translating = machine({ iommuGroups: 3, cmdline: 'ro intel_iommu=on' });
    const pt = machine({ iommuGroups: 3, cmdline: 'ro intel_iommu=on iommu=pt' });
    const identity = machine({ iommuGroups: 2 });
    try {
      for (let g = 0; g < 3; g++) fs.writeFileSync(path.join(translating.sys.root, 'kernel', 'iommu_groups', `${g}`, 'type'), 'DMA-FQ\n');
      for (let g = 0; g < 2; g++) fs.writeFileSync(path.join(identity.sys.root, 'kernel', 'iommu_groups', `${g}`, 'type'), 'identity\n');
      expect(formatCheck(checkIommu(translating.sys.root, translating.proc))).toBe(
        'FAIL iommu: on and translating DMA (3 groups; kernel command line: intel_iommu=on; group types: DMA-FQ): ' +
          'the NIC would take the physical addresses tinynf reads from pagemap for I/O virtual addresses, so its DMA would fault or hit other memory' +
          ' -> fix: bind the ports to vfio-pci (sudo npx tinynf bind --vfio ADDR): tinynf then uses VFIO, maps its DMA memory in the IOMMU, and the NIC can reach nothing else; ' +
          'or add iommu=pt to GRUB_CMDLINE_LINUX in /etc/default/grub, then `sudo update-grub` and reboot (or intel_iommu=off, or disable VT-d/AMD-Vi in the BIOS)',
      );
      expect(checkIommu(pt.sys.root, pt.proc)).toMatchObject({
        ok: true,
        detail: 'on in passthrough mode (3 groups; intel_iommu=on iommu=pt): DMA of devices not claimed by a VFIO user is not translated',
      });
      expect(checkIommu(identity.sys.root, identity.proc)).toMatchObject({ ok: true, detail: expect.stringContaining('every group\'s default domain is "identity"') });
    } finally {
      translating.cleanup();
      pt.cleanup();
      identity.cleanup();
    }
  });

  it("IOMMU per port: the device's own group and its domain type", () => {
    const m = machine({ devices: [{ address: A, ...X520 }, { address: B, ...X520 }], iommuGroups: 2, cmdline: 'iommu=pt' });
    try {
      const groups = path.join(m.sys.root, 'kernel', 'iommu_groups');
      fs.writeFileSync(path.join(groups, '0', 'type'), 'DMA\n');
      fs.writeFileSync(path.join(groups, '1', 'type'), 'identity\n');
      fs.symlinkSync(path.join(groups, '0'), path.join(m.sys.deviceDir(A), 'iommu_group'));
      fs.symlinkSync(path.join(groups, '1'), path.join(m.sys.deviceDir(B), 'iommu_group'));
      const r = doctor(m, [A, B]);
      expect(byName(r.checks, `iommu ${A}`)).toMatchObject({
        ok: false,
        detail: `group 0, domain "DMA": the IOMMU translates this port's DMA, so the physical addresses tinynf gives it are wrong`,
      });
      expect(byName(r.checks, `iommu ${B}`)).toMatchObject({ ok: true, detail: 'group 1, domain "identity": DMA is not translated' });
    } finally {
      m.cleanup();
    }
  });

  it('IOMMU on and translating, ports on vfio-pci in viable groups: every check ok (tinynf uses VFIO); a group with a member on a kernel driver FAILs', () => {
    const m = machine({
      devices: [
        { address: A, ...X520, driver: 'vfio-pci', iommuGroup: 20 },
        { address: B, ...X520, driver: 'vfio-pci', iommuGroup: 21 },
        { address: '0000:5e:00.2', vendor: 0x8086, device: 0x1234, classCode: 0x040300, driver: 'snd_hda_intel', iommuGroup: 21 },
      ],
      cmdline: 'ro intel_iommu=on',
      loadedModules: ['vfio_pci'],
    });
    try {
      for (const g of ['20', '21']) fs.writeFileSync(path.join(m.sys.root, 'kernel', 'iommu_groups', g, 'type'), 'DMA-FQ\n');
      fs.mkdirSync(path.join(m.sys.root, 'kernel', 'security'), { recursive: true });
      fs.writeFileSync(path.join(m.sys.root, 'kernel', 'security', 'lockdown'), 'none [integrity] confidentiality\n');
      const r = doctor(m, [A, B]);
      expect(byName(r.checks, 'iommu')).toEqual({
        name: 'iommu',
        ok: true,
        detail: 'on and translating DMA (2 groups; group types: DMA-FQ): the ports are on vfio-pci, so tinynf uses VFIO and maps their DMA itself',
        fix: null,
      });
      expect(byName(r.checks, 'lockdown')).toMatchObject({ ok: true, detail: 'kernel lockdown is "integrity", which does not restrict VFIO: the ports are on vfio-pci' });
      expect(byName(r.checks, `driver ${A}`)).toMatchObject({ ok: true, detail: 'vfio-pci: tinynf uses VFIO (DMA memory mapped in the IOMMU at I/O virtual addresses)' });
      expect(byName(r.checks, `iommu ${A}`)).toMatchObject({ ok: true, detail: "group 20 (1 device(s)), viable: VFIO maps tinynf's DMA memory in the IOMMU" });
      expect(formatCheck(byName(r.checks, `iommu ${B}`))).toBe(
        `FAIL iommu ${B}: IOMMU group 21: 2 device(s), NOT viable; bind these to vfio-pci too (or unbind them): 0000:5e:00.2 (snd_hda_intel): VFIO cannot open the group` +
          ' -> fix: bind the other members to vfio-pci (sudo npx tinynf bind --vfio ADDR) or unbind them (sudo npx tinynf unbind ADDR)',
      );
      // one port not on vfio-pci: the machine-wide checks FAIL again, and the port's fix names --vfio
      fs.unlinkSync(path.join(m.sys.deviceDir(B), 'driver'));
      const mixed = doctor(m, [A, B]);
      expect(byName(mixed.checks, 'iommu').ok).toBe(false);
      expect(byName(mixed.checks, 'lockdown').ok).toBe(false);
      expect(byName(mixed.checks, `iommu ${B}`)).toMatchObject({ ok: false, fix: expect.stringContaining(`sudo npx tinynf bind --vfio ${B}`) });
    } finally {
      m.cleanup();
    }
  });

  it('lockdown: "integrity" or "confidentiality" FAIL (sysfs refuses BAR0 mmap and config writes), "none" is ok', () => {
    const m = machine({});
    try {
      const dir = path.join(m.sys.root, 'kernel', 'security');
      fs.mkdirSync(dir, { recursive: true });
      fs.writeFileSync(path.join(dir, 'lockdown'), 'none [integrity] confidentiality\n');
      expect(formatCheck(checkLockdown(m.sys.root))).toBe(
        'FAIL lockdown: kernel lockdown is "integrity": the kernel refuses mmap of resource0 and writes to config through sysfs (LOCKDOWN_PCI_ACCESS)' +
          ' -> fix: disable Secure Boot in the firmware setup (or `sudo mokutil --disable-validation`) and reboot',
      );
      fs.writeFileSync(path.join(dir, 'lockdown'), 'none integrity [confidentiality]\n');
      expect(checkLockdown(m.sys.root).ok).toBe(false);
      fs.writeFileSync(path.join(dir, 'lockdown'), '[none] integrity confidentiality\n');
      expect(byName(doctor(m, []).checks, 'lockdown')).toMatchObject({ ok: true, detail: 'none: BAR0 can be mapped and configuration space written through sysfs' });
    } finally {
      m.cleanup();
    }
  });

  it('modules: loaded, available in modules.dep/builtin (- and _ alike), or missing', () => {
    const m = machine({
      modulesDep: 'kernel/drivers/vfio/pci/vfio-pci.ko.zst: kernel/drivers/vfio/vfio.ko.zst\nkernel/drivers/net/ethernet/intel/ixgbe/ixgbe.ko.zst:\n',
      loadedModules: [],
    });
    try {
      expect(moduleState('vfio-pci', m.sys.root, m.modules, RELEASE)).toEqual({ loaded: false, available: true });
      expect(moduleState('vfio_pci', m.sys.root, m.modules, RELEASE)).toEqual({ loaded: false, available: true });
      expect(moduleState('uio_pci_generic', m.sys.root, m.modules, RELEASE)).toEqual({ loaded: false, available: false });
      fs.mkdirSync(path.join(m.sys.root, 'module', 'uio_pci_generic'), { recursive: true });
      expect(moduleState('uio_pci_generic', m.sys.root, m.modules, RELEASE)).toEqual({ loaded: true, available: true });
      fs.rmSync(path.join(m.sys.root, 'module'), { recursive: true });
      fs.writeFileSync(path.join(m.modules, RELEASE, 'modules.builtin'), 'kernel/drivers/uio/uio_pci_generic.ko\n');
      expect(checkModules(m.sys.root, m.modules, RELEASE, true)).toEqual({
        name: 'modules',
        ok: true,
        detail: 'uio_pci_generic available (not loaded), vfio-pci available (not loaded); `tinynf bind` needs it loaded first: sudo modprobe uio_pci_generic',
        fix: null,
      });
      fs.writeFileSync(path.join(m.modules, RELEASE, 'modules.builtin'), '');
      fs.writeFileSync(path.join(m.modules, RELEASE, 'modules.dep'), '');
      const missing = checkModules(m.sys.root, m.modules, RELEASE, true);
      expect(missing).toMatchObject({ ok: false, detail: expect.stringMatching(/^uio_pci_generic not available, vfio-pci not available \(looked in /) });
      expect(missing.fix).toContain('sudo modprobe uio_pci_generic');
      // not needed when every port is already unbound or bound to a user-space driver
      expect(checkModules(m.sys.root, m.modules, RELEASE, false).ok).toBe(true);
    } finally {
      m.cleanup();
    }
  });
});

describe('the LINKS register', () => {
  it('decodes LINK_UP (bit 30) and LINK_SPEED (bits 29:28)', () => {
    expect(decodeLinks(0x70000000)).toEqual({ up: true, speedCode: 3, speed: '10 Gb/s' });
    expect(decodeLinks(0x60000000)).toEqual({ up: true, speedCode: 2, speed: '1 Gb/s' });
    expect(decodeLinks(0x50000000)).toEqual({ up: true, speedCode: 1, speed: '100 Mb/s' });
    expect(decodeLinks(0x30000000)).toEqual({ up: false, speedCode: 3, speed: '10 Gb/s' });
    expect(decodeLinks(0x80000000 | 0x0000ffff)).toEqual({ up: false, speedCode: 0, speed: 'unknown speed (00b)' });
    expect(LINKS).toBe(0x042a4);
  });

  /** An environment over a plain 512 KiB register file, counting sleeps: a stand-in NIC for the link check. */
  function registerFileEnv(): { env: Environment; regs: Uint32Array; slept: number[] } {
    const regs = new Uint32Array(new SharedArrayBuffer(512 * 1024));
    const slept: number[] = [];
    const env: Environment = {
      name: 'test',
      allocateDma: () => {
        throw new Error('not used');
      },
      virtToPhys: () => 0,
      pciRead32: () => 0,
      pciWrite32: () => undefined,
      mapBar0: () => regs.buffer as SharedArrayBuffer,
      readStatistic32: (_a, bar0, offset) => bar0.read32(offset),
      sleepUs: (us) => {
        slept.push(us);
      },
      nowNs: () => 0,
    };
    return { env, regs, slept };
  }

  it('is read after the initialisation, and polled every 100 ms until the link comes up', () => {
    const { env, regs, slept } = registerFileEnv();
    const order: string[] = [];
    const c = checkLinkAfterInit(env, A, (_e, a) => {
      order.push(`init ${a}`);
      regs[LINKS >>> 2] = 0x30000000; // link down for now
    }, { linkTimeoutUs: 1_000_000 });
    expect(order).toEqual([`init ${A}`]);
    expect(c.ok).toBe(false);
    expect(formatCheck(c)).toBe(
      `FAIL link ${A}: down after init (LINKS 0x30000000, LINK_UP = 0 for 1 s) -> fix: check the SFP+ module or DAC cable and that the other end (generator port) is up; ` +
        'tinynf does not configure the link, it keeps the EEPROM settings',
    );
    expect(slept).toEqual(new Array(10).fill(100_000));

    // now a link that comes up during the third wait
    const second = registerFileEnv();
    second.env.sleepUs = (us) => {
      second.slept.push(us);
      if (second.slept.length === 3) second.regs[LINKS >>> 2] = 0x70000000;
    };
    const up = checkLinkAfterInit(second.env, A, () => undefined, { linkTimeoutUs: 10_000_000 });
    expect(formatCheck(up)).toBe(`ok   link ${A}: up at 10 Gb/s after init (LINKS 0x70000000)`);
    expect(second.slept).toHaveLength(3);
  });

  it('reports a link up below 10 Gb/s as ok, saying so', () => {
    const { env, regs } = registerFileEnv();
    regs[LINKS >>> 2] = 0x60000000;
    expect(checkLinkAfterInit(env, A, () => undefined).detail).toBe(
      'up at 1 Gb/s after init (LINKS 0x60000000) (not 10 Gb/s: check the module and the link partner)',
    );
  });

  it('turns an initialisation error into a FAIL line with its message', () => {
    const { env } = registerFileEnv();
    const c = checkLinkAfterInit(env, A, () => {
      throw new TinyNfError(`${A}: EEPROM not present or invalid (EEC.EE_PRES is 0)`);
    });
    expect(c).toMatchObject({ ok: false, detail: `initialisation failed: ${A}: EEPROM not present or invalid (EEC.EE_PRES is 0)` });
  });

  it('with --init, is not attempted without root (and init is never called)', () => {
    const m = machine({ devices: [{ address: A, ...X520 }] });
    try {
      const inits: string[] = [];
      const r = doctor(m, [A], { euid: 1000, init: { env: new LinuxEnvironment({ sysfsRoot: m.sys.root }), device: (_e, a) => inits.push(a) } });
      expect(inits).toEqual([]);
      expect(byName(r.checks, `link ${A}`)).toMatchObject({ ok: false, detail: 'not attempted: initialising a device needs root' });
    } finally {
      m.cleanup();
    }
  });

  describeAsRoot('through the Linux environment (a fake sysfs root whose resource0 is a plain file)', () => {
    it('runs init only on ports whose checks passed, then reads LINKS from BAR0 mapped by mapBar0', () => {
      const m = machine({
        devices: [
          { address: A, ...X520 },
          { address: B, ...X520, driver: 'ixgbe', interfaces: [UP] },
        ],
        loadedModules: ['uio_pci_generic'],
      });
      try {
        const env = new LinuxEnvironment({ sysfsRoot: m.sys.root });
        const inits: string[] = [];
        const r = doctor(m, [A, B], {
          init: {
            env,
            // a stand-in for Device.init: "the link comes up" by writing LINKS through its own BAR0 mapping
            device: (e, a) => {
              inits.push(a);
              new Uint32Array(e.mapBar0(a))[LINKS >>> 2] = 0x70000000;
            },
            linkTimeoutUs: 0,
          },
        });
        expect(inits).toEqual([A]);
        expect(formatCheck(byName(r.checks, `link ${A}`))).toBe(`ok   link ${A}: up at 10 Gb/s after init (LINKS 0x70000000)`);
        expect(byName(r.checks, `link ${B}`)).toMatchObject({ ok: false, detail: expect.stringMatching(/^not attempted/) });
        // the value is in the file standing in for BAR0, at LINKS' offset
        expect(fs.readFileSync(path.join(m.sys.deviceDir(A), 'resource0')).readUInt32LE(LINKS)).toBe(0x70000000);
      } finally {
        m.cleanup();
      }
    });

  });
});
