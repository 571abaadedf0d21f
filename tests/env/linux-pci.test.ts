// PCI configuration space and BAR0 through sysfs: a read-only check against this machine's real devices, and
// BAR mapping plus every user error on temporary sysfs roots (never writing to a real device).
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { TinyNfError } from '../../src/env/environment';
import { LinuxEnvironment } from '../../src/env/linux';
import { createFakeSysfs, describeAsRoot, FakeSysfs } from './helpers/fake-sysfs';

const X520 = { vendor: 0x8086, device: 0x10fb };
/** Temporary copies of the compiled sources made for unprivileged children (removed after all tests). */
const copies: string[] = [];
afterAll(() => {
  for (const c of copies) fs.rmSync(c, { recursive: true, force: true });
});

function messageOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(TinyNfError);
    return (e as Error).message;
  }
  throw new Error('expected a TinyNfError');
}

describe('PCI config reads of real devices (read only)', () => {
  const devicesDir = '/sys/bus/pci/devices';
  const addresses = fs.existsSync(devicesDir) ? fs.readdirSync(devicesDir) : [];

  it('match the sysfs vendor, device and class files for every device', () => {
    if (addresses.length === 0) {
      console.log('skipping: no PCI devices under /sys on this machine');
      return;
    }
    const env = new LinuxEnvironment();
    for (const a of addresses) {
      const hex = (f: string) => parseInt(fs.readFileSync(path.join(devicesDir, a, f), 'utf8').trim(), 16);
      const id = env.pciRead32(a, 0x00);
      expect({ a, vendor: id & 0xffff, device: id >>> 16 }).toEqual({ a, vendor: hex('vendor'), device: hex('device') });
      expect(env.pciRead32(a, 0x08) >>> 8).toBe(hex('class')); // class code, DS 9.3.3.5
    }
  });
});

describe('PCI config and BAR0 on a temporary sysfs root', () => {
  let sys: FakeSysfs;
  let env: LinuxEnvironment;

  beforeEach(() => {
    sys = createFakeSysfs({
      devices: [
        { address: '0000:5e:00.0', ...X520 },
        { address: '0000:5e:00.1', ...X520, bar0: 0xfe000000 }, // 32-bit memory BAR
        { address: '0000:5e:00.2', ...X520, bar0: 0x0000e001 }, // I/O BAR
        { address: '0000:00:03.0', vendor: 0x1af4, device: 0x1041 }, // virtio-net
      ],
    });
    env = new LinuxEnvironment({ sysfsRoot: sys.root });
  });
  afterEach(() => sys.cleanup());

  it('reads and writes 32-bit little-endian config words with pread/pwrite', () => {
    expect(env.pciRead32('0000:5e:00.0', 0)).toBe(0x10fb8086);
    env.pciWrite32('5e:00.0', 0x04, 0x00100406); // short address form accepted
    const config = fs.readFileSync(path.join(sys.deviceDir('0000:5e:00.0'), 'config'));
    expect(Array.from(config.subarray(4, 8))).toEqual([0x06, 0x04, 0x10, 0x00]);
    expect(config.length).toBe(4096); // wrote in place
    expect(env.pciRead32('0000:5e:00.0', 0x04)).toBe(0x00100406);
  });

  it('maps a regular file standing in for resource0 as a shared, writable SharedArrayBuffer', () => {
    const resource0 = path.join(sys.deviceDir('0000:5e:00.0'), 'resource0');
    const fd = fs.openSync(resource0, 'r+');
    fs.writeSync(fd, Buffer.from([0x78, 0x56, 0x34, 0x12]), 0, 4, 0x8);
    fs.closeSync(fd);
    const bar0 = env.mapBar0('0000:5e:00.0');
    // (not toBeInstanceOf: the addon creates it in Node's main realm, jest runs tests in another vm context)
    expect(Object.prototype.toString.call(bar0)).toBe('[object SharedArrayBuffer]');
    expect(bar0.byteLength).toBe(512 * 1024);
    const regs = new Uint32Array(bar0);
    expect(regs[0x8 / 4]).toBe(0x12345678); // what the file held
    regs[0x4200 / 4] = 0xcafef00d; // and writes reach the file
    expect(fs.readFileSync(resource0).readUInt32LE(0x4200)).toBe(0xcafef00d);
  });

  it('rejects a malformed PCI address', () => {
    expect(messageOf(() => env.pciRead32('eth0', 0))).toBe(
      "malformed PCI address 'eth0': expected DOMAIN:BUS:DEVICE.FUNCTION in hex, e.g. 0000:03:00.0",
    );
    expect(messageOf(() => env.mapBar0('0000:5e:00.8'))).toMatch(/^malformed PCI address '0000:5e:00.8'/);
  });

  it('rejects an address with no device under the sysfs root', () => {
    const msg = messageOf(() => env.mapBar0('0000:99:00.0'));
    expect(msg).toBe(
      `no PCI device at 0000:99:00.0 (nothing at ${path.join(sys.root, 'bus/pci/devices/0000:99:00.0')}); ` +
        'list devices with `npx tinynf devices`',
    );
    expect(messageOf(() => env.pciRead32('0000:99:00.0', 0))).toMatch(/^no PCI device at 0000:99:00.0 /);
  });

  it('refuses to map a device that is not an 82599ES', () => {
    expect(messageOf(() => env.mapBar0('0000:00:03.0'))).toBe(
      'device 0000:00:03.0 is 1af4:1041, not an Intel 82599ES (8086:10fb); tinynf drives only that NIC',
    );
  });

  it('refuses a BAR0 that is not a 64-bit memory BAR', () => {
    expect(messageOf(() => env.mapBar0('0000:5e:00.1'))).toBe('device 0000:5e:00.1 BAR0 (0xfe000000) is not a 64-bit memory BAR');
    expect(messageOf(() => env.mapBar0('0000:5e:00.2'))).toBe('device 0000:5e:00.2 BAR0 (0xe001) is not a 64-bit memory BAR');
  });

  it('rejects config offsets that are unaligned or outside the 4 KiB space', () => {
    expect(messageOf(() => env.pciRead32('0000:5e:00.0', 2))).toMatch(/PCI config offset 2 invalid/);
    expect(messageOf(() => env.pciRead32('0000:5e:00.0', 4096))).toMatch(/PCI config offset 4096 invalid/);
  });
});

describe('DMA memory errors on a temporary sysfs root', () => {
  let sys: FakeSysfs;
  afterEach(() => sys.cleanup());

  describeAsRoot('as root', () => {
    it('says how to get huge pages when the pool has none free', () => {
      sys = createFakeSysfs({ hugepages: { total: 0, free: 0 } });
      const env = new LinuxEnvironment({ sysfsRoot: sys.root });
      expect(messageOf(() => env.allocateDma(4096))).toBe(
        'no free 2 MiB huge pages (0 reserved, all in use or none): run `sudo npx tinynf setup hugepages 64`',
      );
    });

    it('says hugetlbfs is not mounted (explicit mount point, and none in the mount table)', () => {
      sys = createFakeSysfs({ hugepages: { total: 8, free: 8 } });
      const notHugetlbfs = fs.mkdtempSync(path.join(os.tmpdir(), 'tinynf-not-hugetlbfs-'));
      const mounts = path.join(sys.root, 'mounts');
      fs.writeFileSync(mounts, 'proc /proc proc rw,nosuid 0 0\ntmpfs /tmp tmpfs rw 0 0\nnone /mnt/huge1g hugetlbfs rw,pagesize=1024M 0 0\n');
      try {
        const explicit = new LinuxEnvironment({ sysfsRoot: sys.root, hugetlbfsMount: notHugetlbfs });
        expect(messageOf(() => explicit.allocateDma(4096))).toBe(
          `hugetlbfs is not mounted at ${notHugetlbfs}: mount it with ` +
            `\`sudo mount -t hugetlbfs -o pagesize=2M nodev ${notHugetlbfs}\` or use \`sudo npx tinynf setup hugepages 64\``,
        );
        const found = new LinuxEnvironment({ sysfsRoot: sys.root, mountsPath: mounts });
        expect(messageOf(() => found.allocateDma(4096))).toBe(
          `hugetlbfs (2 MiB pages) is not mounted (none in ${mounts}): run \`sudo npx tinynf setup hugepages 64\``,
        );
      } finally {
        fs.rmdirSync(notHugetlbfs);
      }
    });

    it('refuses sizes above one huge page', () => {
      sys = createFakeSysfs();
      const env = new LinuxEnvironment({ sysfsRoot: sys.root });
      expect(messageOf(() => env.allocateDma(2 * 1024 * 1024 + 1))).toMatch(/^DMA allocation of 2097153 bytes refused/);
    });

    it('tells an unprivileged user to use sudo (child process as nobody)', () => {
      sys = createFakeSysfs({ devices: [{ address: '0000:5e:00.0', ...X520 }], hugepages: { total: 8, free: 8 } });
      // Let nobody traverse the root; config stays world-readable and resource0 root-only, as in real sysfs.
      fs.chmodSync(sys.root, 0o755);
      const setpriv = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => fs.existsSync(p));
      if (setpriv === undefined) {
        console.log('skipping the unprivileged check: setpriv is not installed');
        return;
      }
      // The child runs as nobody, who may not be able to read this checkout (a clone in /root, any mktemp -d: mode
      // 0700): it loads a world-readable copy of the compiled sources instead.
      const copy = fs.mkdtempSync(path.join(os.tmpdir(), 'tinynf-nobody-'));
      copies.push(copy);
      fs.cpSync(path.join(__dirname, '../../src'), path.join(copy, 'src'), { recursive: true });
      const open = (p: string): void => {
        fs.chmodSync(p, fs.statSync(p).isDirectory() ? 0o755 : 0o644);
        if (fs.statSync(p).isDirectory()) for (const e of fs.readdirSync(p)) open(path.join(p, e));
      };
      open(copy);
      const script = `
        const { LinuxEnvironment } = require(${JSON.stringify(path.join(copy, 'src/env/linux.js'))});
        const env = new LinuxEnvironment({ sysfsRoot: ${JSON.stringify(sys.root)} });
        const out = {};
        for (const [k, f] of [['dma', () => env.allocateDma(4096)], ['bar0', () => env.mapBar0('0000:5e:00.0')],
                              ['write', () => env.pciWrite32('0000:5e:00.0', 4, 6)]]) {
          try { f(); out[k] = 'no error'; } catch (e) { out[k] = e.name + ': ' + e.message; }
        }
        out.euid = process.geteuid();
        console.log(JSON.stringify(out));`;
      const r = spawnSync(setpriv, ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, '-e', script], {
        encoding: 'utf8',
        cwd: os.tmpdir(),
      });
      expect(r.stderr).toBe('');
      const out = JSON.parse(r.stdout);
      const config = path.join(sys.deviceDir('0000:5e:00.0'), 'config');
      expect(out).toEqual({
        euid: 65534,
        dma: 'TinyNfError: tinynf needs root for DMA memory (huge pages and physical addresses): run it with sudo',
        bar0: `TinyNfError: tinynf needs root to map BAR0 (${path.join(sys.deviceDir('0000:5e:00.0'), 'resource0')}): run it with sudo`,
        write: `TinyNfError: tinynf needs root to write the PCI configuration space (${config}): run it with sudo`,
      });
    });
  });
});
