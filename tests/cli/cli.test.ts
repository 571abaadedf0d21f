// The tinynf command as a user runs it: node bin/tinynf.js ..., exit codes and one-line errors.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { HUGETLBFS_MAGIC, unmount } from '../../src/env/hugepages';
import { createFakeSysfs, describeAsRoot } from '../env/helpers/fake-sysfs';

const BIN = path.join(__dirname, '..', '..', '..', 'bin', 'tinynf.js');

function tinynf(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 30_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function expectOneLineError(r: ReturnType<typeof tinynf>, status: number, message: RegExp): void {
  expect(r.status).toBe(status);
  expect(r.stderr.endsWith('\n')).toBe(true);
  expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
  expect(r.stderr).toMatch(/^tinynf: /);
  expect(r.stderr.trimEnd()).toMatch(message);
}

describe('tinynf devices', () => {
  it("lists this machine's PCI network devices (the virtio NIC at 0000:00:03.0 here)", () => {
    const r = tinynf('devices');
    expect(r.status).toBe(0);
    const expected = fs
      .readdirSync('/sys/bus/pci/devices')
      .filter((a) => fs.readFileSync(`/sys/bus/pci/devices/${a}/class`, 'utf8').startsWith('0x02'));
    for (const a of expected) {
      const vendor = fs.readFileSync(`/sys/bus/pci/devices/${a}/vendor`, 'utf8').trim().slice(2);
      const device = fs.readFileSync(`/sys/bus/pci/devices/${a}/device`, 'utf8').trim().slice(2);
      expect(r.stdout).toMatch(new RegExp(`^${a}  ${vendor}:${device}  driver=`, 'm'));
    }
    if (fs.existsSync('/sys/bus/pci/devices/0000:00:03.0/virtio2/net/eth0')) {
      expect(r.stdout).toMatch(/^0000:00:03\.0  1af4:1041  driver=virtio-pci  if=eth0 \((up|down)\)  supported: virtio-net modern \(tinynf run --virtio\)$/m);
    }
  });

  it('prints JSON and marks 82599ES and virtio-net as supported (temporary sysfs root)', () => {
    const sys = createFakeSysfs({
      devices: [
        { address: '0000:5e:00.0', vendor: 0x8086, device: 0x10fb, driver: 'ixgbe', interfaces: [{ name: 'ens1f0', operstate: 'down', flags: 0x1002 }] },
        { address: '0000:00:03.0', vendor: 0x1af4, device: 0x1041 },
        { address: '0000:00:04.0', vendor: 0x1af4, device: 0x1000 },
        { address: '0000:00:05.0', vendor: 0x8086, device: 0x1572 },
      ],
    });
    try {
      const text = tinynf('devices', '--sysfs-root', sys.root);
      expect(text.stdout).toBe(
        'PCI network devices (class 02):\n' +
          '0000:00:03.0  1af4:1041  driver=none  if=none  supported: virtio-net modern (tinynf run --virtio)\n' +
          '0000:00:04.0  1af4:1000  driver=none  if=none  supported: virtio-net legacy (tinynf run --virtio)\n' +
          '0000:00:05.0  8086:1572  driver=none  if=none\n' +
          '0000:5e:00.0  8086:10fb  driver=ixgbe  if=ens1f0 (down)  supported: Intel 82599ES\n',
      );
      const json = JSON.parse(tinynf('devices', '--json', '--sysfs-root', sys.root).stdout);
      expect(json[3]).toEqual({
        address: '0000:5e:00.0', vendor: '8086', device: '10fb', driver: 'ixgbe',
        interfaces: [{ name: 'ens1f0', up: false, operstate: 'down' }], supported: true, model: '82599ES', iommu_group: null,
      });
      expect(json.slice(0, 3).map((d: { model: string | null; supported: boolean }) => [d.model, d.supported])).toEqual([
        ['virtio-net modern', true], ['virtio-net legacy', true], [null, false],
      ]);
    } finally {
      sys.cleanup();
    }
  });

  it('shows each device\'s IOMMU group and whether VFIO can use it (all members on vfio-pci or no driver)', () => {
    const sys = createFakeSysfs({
      devices: [
        { address: '0000:5e:00.0', vendor: 0x8086, device: 0x10fb, driver: 'vfio-pci', iommuGroup: 10 },
        { address: '0000:5e:00.1', vendor: 0x8086, device: 0x10fb, driver: 'vfio-pci', iommuGroup: 11 },
        { address: '0000:5e:00.2', vendor: 0x8086, device: 0x1234, classCode: 0x040300, driver: 'snd_hda_intel', iommuGroup: 11 },
      ],
    });
    try {
      const text = tinynf('devices', '--sysfs-root', sys.root);
      expect(text.stdout).toBe(
        'PCI network devices (class 02):\n' +
          '0000:5e:00.0  8086:10fb  driver=vfio-pci  if=none  iommu_group=10 (viable)  supported: Intel 82599ES\n' +
          '0000:5e:00.1  8086:10fb  driver=vfio-pci  if=none  iommu_group=11 (not viable)  supported: Intel 82599ES\n',
      );
      const json = JSON.parse(tinynf('devices', '--json', '--sysfs-root', sys.root).stdout);
      expect(json[1].iommu_group).toEqual({
        group: 11,
        viable: false,
        devices: [
          { address: '0000:5e:00.1', driver: 'vfio-pci' },
          { address: '0000:5e:00.2', driver: 'snd_hda_intel' },
        ],
      });
    } finally {
      sys.cleanup();
    }
  });
});

describe('usage errors', () => {
  it('an unknown command exits 2 with one line', () => {
    expectOneLineError(tinynf('frobnicate'), 2, /^tinynf: Unknown argument: frobnicate \(see tinynf --help\)$/);
  });
  it('no command exits 2 with one line', () => {
    expectOneLineError(tinynf(), 2, /^tinynf: a command is needed/);
  });
  it('an unknown option exits 2 with one line', () => {
    expectOneLineError(tinynf('devices', '--bogus'), 2, /Unknown argument: bogus/);
    // once each, as typed (yargs lists both spellings: bogus-flag, bogusFlag)
    expectOneLineError(tinynf('run', 'nop', '--sim', '--bogus-flag', '--other-x'), 2, /^tinynf: Unknown arguments: bogus-flag, other-x \(see tinynf --help\)$/);
  });
  it('a missing or bad argument exits non-zero with one line', () => {
    expectOneLineError(tinynf('setup', 'hugepages'), 2, /Not enough non-option arguments/);
    expectOneLineError(tinynf('setup', 'hugepages', 'lots'), 1, /^tinynf: invalid number of huge pages 'lots': expected a whole number, e.g. 64$/);
  });
  it('bench refuses a bad model or test with one line before running anything', () => {
    expectOneLineError(tinynf('bench', '--model', 'bogus'), 1, /^tinynf: unknown driver model 'bogus'/);
    expectOneLineError(tinynf('bench', '--test', 'bogus'), 1, /^tinynf: unknown test 'bogus'/);
    expectOneLineError(tinynf('bench', '--sim-threads', '3'), 1, /^tinynf: --sim-threads must be 1 or 2 \(the simulated machine has 2 ports\), got 3$/);
    // it used to skip an unknown NF with a note and run the rest (exit 0)
    expectOneLineError(tinynf('bench', '--nf', 'nop', 'bogus'), 1, /^tinynf: unknown NF 'bogus': use nop, .*policer/);
    // --save's place is checked first, not after the whole run
    expectOneLineError(tinynf('bench', '--save', '/nonexistent-dir/rows.json'), 1, /^tinynf: cannot write \/nonexistent-dir\/rows\.json: ENOENT$/);
    expectOneLineError(tinynf('bench', '--save', os.tmpdir()), 1, /^tinynf: cannot write .*: not a file$/);
  });
  it('a numeric option given a word names what was typed (yargs made it NaN: "got NaN")', () => {
    expectOneLineError(tinynf('run', 'nop', '--sim', '--duration', 'abc'), 1, /^tinynf: --duration must be a number, got 'abc'$/);
    expectOneLineError(tinynf('run', 'nop', '--sim', '--frame-size=x1'), 1, /^tinynf: --frame-size must be a number, got 'x1'$/);
    expectOneLineError(tinynf('bench', '--duration', 'abc'), 1, /^tinynf: --duration must be a number, got 'abc'$/);
    // a flag generated from an NF's config schema, too
    expectOneLineError(tinynf('run', 'policer', '--sim', '--rate', 'fast'), 1, /^tinynf: --rate must be a number, got 'fast'$/);
  });
  it('run refuses a --frame-size the driver cannot receive (no jumbo frames) with one line', () => {
    // it ran, exit 0, with every frame dropped as a length error
    expectOneLineError(tinynf('run', 'nop', '--sim', '--frame-size', '1515'), 1, /^tinynf: --frame-size must be a whole number 60\.\.1514 \(the driver does not enable jumbo frames\), got 1515$/);
  });
  it('run refuses --sim-threads other than 1 or 2, or with real ports, with one line', () => {
    expectOneLineError(tinynf('run', 'nop', '--sim-threads', '0'), 1, /^tinynf: --sim-threads must be 1 or 2 \(the simulated machine has 2 ports\), got 0$/);
    expectOneLineError(tinynf('run', 'nop', '--sim-threads', '2', '--pci', '0000:03:00.0', '0000:03:00.1'), 1, /^tinynf: --sim-threads is for simulated ports, not --pci or --virtio$/);
  });
  it('--help lists the commands, none of them as not yet available', () => {
    const r = tinynf('--help');
    expect(r.status).toBe(0);
    for (const c of ['run', 'bench', 'sim', 'setup', 'devices']) expect(r.stdout).toMatch(new RegExp(`tinynf ${c}\\b`));
    expect(r.stdout).not.toMatch(/not yet available/);
  });
  it('run --help says what a flag several NFs share is to each of them (it gave the policer\'s text alone)', () => {
    const r = tinynf('run', '--help');
    expect(r.status).toBe(0);
    const capacity = /^ {2}--capacity\s+([\s\S]*?)\[number\]/m.exec(r.stdout)?.[1].replace(/\s+/g, ' ');
    expect(capacity).toMatch(/^policer: destinations tracked at most; .*nat: mappings at most; .*lb: connections tracked at most $/);
  });
});

describeAsRoot('tinynf setup hugepages (temporary sysfs root)', () => {
  it('sets nr_hugepages and reports an existing hugetlbfs mount', () => {
    const sys = createFakeSysfs({ hugepages: { total: 0, free: 0 } });
    const mounts = path.join(sys.root, 'mounts');
    fs.writeFileSync(mounts, 'sysfs /sys sysfs rw 0 0\nhugetlbfs /dev/hugepages hugetlbfs rw,relatime,pagesize=2M 0 0\n');
    try {
      const r = tinynf('setup', 'hugepages', '16', '--sysfs-root', sys.root, '--mounts', mounts);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(fs.readFileSync(path.join(sys.root, 'kernel/mm/hugepages/hugepages-2048kB/nr_hugepages'), 'utf8')).toBe('16\n');
      // the fake free_hugepages file does not change (the kernel's would)
      expect(r.stdout).toBe('huge pages (2 MiB): 0 -> 16 reserved, 0 free\nhugetlbfs: already mounted at /dev/hugepages\n');
    } finally {
      sys.cleanup();
    }
  });

  it('mounts hugetlbfs (pagesize=2M) when the mount table has none', () => {
    const sys = createFakeSysfs({ hugepages: { total: 4, free: 4 } });
    const mounts = path.join(sys.root, 'mounts');
    fs.writeFileSync(mounts, 'sysfs /sys sysfs rw 0 0\n');
    const mountPoint = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tinynf-mnt-')), 'huge');
    try {
      const state = path.join(path.dirname(mountPoint), 'state');
      const r = tinynf('setup', 'hugepages', '4', '--sysfs-root', sys.root, '--mounts', mounts, '--mount-point', mountPoint, '--state-dir', state);
      expect(r.stderr).toBe('');
      expect(r.stdout).toBe(`huge pages (2 MiB): 4 -> 4 reserved, 4 free\nhugetlbfs: mounted at ${mountPoint} (pagesize=2M)\n`);
      expect(fs.statfsSync(mountPoint).type).toBe(HUGETLBFS_MAGIC);
      const line = fs.readFileSync('/proc/mounts', 'utf8').split('\n').find((l) => l.split(' ')[1] === mountPoint);
      expect(line).toMatch(/ hugetlbfs .*pagesize=2M/);
      // undo: 0 frees the pool and unmounts what setup mounted
      fs.writeFileSync(mounts, `sysfs /sys sysfs rw 0 0\n${line}\n`);
      const undo = tinynf('setup', 'hugepages', '0', '--sysfs-root', sys.root, '--mounts', mounts, '--state-dir', state);
      expect(undo.stderr).toBe('');
      // (the fake sysfs' free_hugepages is a plain file: it does not follow nr_hugepages)
      expect(undo.stdout).toMatch(/^huge pages \(2 MiB\): 4 -> 0 reserved, \d+ free\n/);
      expect(undo.stdout.split('\n')[1]).toBe(`hugetlbfs: unmounted ${mountPoint} (tinynf setup had mounted it)`);
      expect(fs.statfsSync(mountPoint).type).not.toBe(HUGETLBFS_MAGIC);
      // a mount setup did not make is left alone
      const again = tinynf('setup', 'hugepages', '0', '--sysfs-root', sys.root, '--mounts', mounts, '--state-dir', state);
      expect(again.stdout).toMatch(/hugetlbfs: left mounted at .* \(tinynf setup did not mount it\)\n$/);
    } finally {
      if (fs.existsSync(mountPoint) && fs.statfsSync(mountPoint).type === HUGETLBFS_MAGIC) unmount(mountPoint);
      fs.rmSync(path.dirname(mountPoint), { recursive: true, force: true });
      sys.cleanup();
    }
  });

  it('fails with one line when the kernel reserves fewer pages than asked', () => {
    // nr_hugepages -> /dev/null: the write succeeds and reading back reports nothing, as when memory is too
    // fragmented for the kernel to find any free 2 MiB block.
    const sys = createFakeSysfs();
    const nr = path.join(sys.root, 'kernel/mm/hugepages/hugepages-2048kB/nr_hugepages');
    fs.rmSync(nr);
    fs.symlinkSync('/dev/null', nr);
    try {
      expectOneLineError(
        tinynf('setup', 'hugepages', '64', '--sysfs-root', sys.root),
        1,
        /^tinynf: the kernel reserved only 0 of 64 2 MiB huge pages \(not enough free contiguous memory\); try fewer pages or reserve them at boot \(hugepages=64 on the kernel command line\)$/,
      );
    } finally {
      sys.cleanup();
    }
  });
});

describe('tinynf bind / unbind (temporary sysfs root only)', () => {
  it('refuses to unbind a port that is up, with one line naming --force, and changes nothing', () => {
    const sys = createFakeSysfs({
      devices: [{ address: '0000:5e:00.0', vendor: 0x8086, device: 0x10fb, driver: 'ixgbe', interfaces: [{ name: 'ens1f0', operstate: 'up', flags: 0x1003 }] }],
      drivers: ['uio_pci_generic'],
    });
    try {
      for (const args of [['unbind', '0000:5e:00.0'], ['bind', '5e:00.0']]) {
        expectOneLineError(
          tinynf(...args, '--sysfs-root', sys.root),
          1,
          /^tinynf: refusing to unbind 0000:5e:00.0 from ixgbe: interface ens1f0 is up; take it down first \(ip link set <if> down\) or pass --force$/,
        );
      }
      expect(fs.readFileSync(path.join(sys.root, 'bus/pci/drivers/ixgbe/unbind'), 'utf8')).toBe('');
      expect(fs.readlinkSync(path.join(sys.deviceDir('0000:5e:00.0'), 'driver'))).toMatch(/ixgbe$/);
    } finally {
      sys.cleanup();
    }
  });

  it('rejects an unknown driver and a missing module with one line', () => {
    const sys = createFakeSysfs({ devices: [{ address: '0000:5e:00.0', vendor: 0x8086, device: 0x10fb }] });
    try {
      expectOneLineError(tinynf('bind', '0000:5e:00.0', '--driver', 'igb_uio', '--sysfs-root', sys.root), 2, /Invalid values:.*igb_uio/);
      expectOneLineError(
        tinynf('bind', '0000:5e:00.0', '--driver', 'vfio-pci', '--sysfs-root', sys.root),
        1,
        /^tinynf: kernel driver vfio-pci is not loaded \(.*\): run `sudo modprobe vfio-pci`$/,
      );
      expectOneLineError(
        tinynf('bind', '0000:5e:00.0', '--vfio', '--sysfs-root', sys.root),
        1,
        /^tinynf: kernel driver vfio-pci is not loaded \(.*\): run `sudo modprobe vfio-pci`$/,
      );
      expectOneLineError(
        tinynf('bind', '0000:5e:00.0', '--vfio', '--driver', 'uio_pci_generic', '--sysfs-root', sys.root),
        1,
        /^tinynf: --vfio binds to vfio-pci: it cannot be combined with --driver uio_pci_generic$/,
      );
    } finally {
      sys.cleanup();
    }
  });
});
