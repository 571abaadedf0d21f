// bind/unbind on a temporary sysfs root with a fake kernel (never on this machine's real devices): the exact
// dpdk-devbind sequence of sysfs writes, and every refusal.
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import { TinyNfError } from '../../src/env/environment';
import { bindDevice, routedInterfaces, unbindDevice } from '../../src/env/sysfs';
import { FakeSysfs, createFakeProc, createFakeSysfs, fakeKernel } from './helpers/fake-sysfs';

const A = '0000:5e:00.0';
const X520 = { vendor: 0x8086, device: 0x10fb };

function messageOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(TinyNfError);
    return (e as Error).message;
  }
  throw new Error('expected a TinyNfError');
}

describe('bind and unbind (temporary sysfs root, fake kernel)', () => {
  let sys: FakeSysfs;
  let proc: ReturnType<typeof createFakeProc>;
  let kernel: ReturnType<typeof fakeKernel>;
  const setUp = (opts: { up?: boolean; routes4?: string[]; routes6?: string[]; drivers?: string[]; iommuGroups?: number; driver?: string | null } = {}) => {
    sys = createFakeSysfs({
      devices: [
        {
          address: A,
          ...X520,
          driver: opts.driver === null ? undefined : opts.driver ?? 'ixgbe',
          interfaces: [{ name: 'ens1f0', operstate: opts.up ? 'up' : 'down', flags: opts.up ? 0x1003 : 0x1002 }],
        },
      ],
      drivers: opts.drivers ?? ['uio_pci_generic', 'vfio-pci'],
      iommuGroups: opts.iommuGroups,
    });
    proc = createFakeProc(opts.routes4 ?? ['eth0'], opts.routes6 ?? ['eth0']);
    kernel = fakeKernel(sys.root);
    return { sysfsRoot: sys.root, procRoot: proc.root, write: kernel.write };
  };
  afterEach(() => {
    sys.cleanup();
    proc.cleanup();
  });
  const driverOf = () => (fs.existsSync(`${sys.deviceDir(A)}/driver`) ? fs.readlinkSync(`${sys.deviceDir(A)}/driver`).split('/').pop() : undefined);

  it('binds an idle port: unbind, driver_override, bind, clear driver_override', () => {
    const o = setUp();
    const r = bindDevice(A, 'uio_pci_generic', o);
    expect(kernel.log).toEqual([
      ['bus/pci/drivers/ixgbe/unbind', A],
      [`bus/pci/devices/${A}/driver_override`, 'uio_pci_generic'],
      ['bus/pci/drivers/uio_pci_generic/bind', A],
      [`bus/pci/devices/${A}/driver_override`, '\n'],
    ]);
    expect(driverOf()).toBe('uio_pci_generic');
    expect(r).toEqual({ address: A, previousDriver: 'ixgbe', driver: 'uio_pci_generic', actions: [`unbound ${A} from ixgbe`, `bound ${A} to uio_pci_generic`] });
    // binding again changes nothing
    kernel.log.length = 0;
    expect(bindDevice('5e:00.0', 'uio_pci_generic', o).actions).toEqual([`${A} is already bound to uio_pci_generic`]);
    expect(kernel.log).toEqual([]);
  });

  it('refuses to unbind a port whose interface is up, and says how to override', () => {
    const o = setUp({ up: true });
    const expected = `refusing to unbind ${A} from ixgbe: interface ens1f0 is up; take it down first (ip link set <if> down) or pass --force`;
    expect(messageOf(() => bindDevice(A, 'uio_pci_generic', o))).toBe(expected);
    expect(messageOf(() => unbindDevice(A, o))).toBe(expected);
    expect(kernel.log).toEqual([]);
    expect(driverOf()).toBe('ixgbe');
  });

  it('refuses to unbind a port that carries IPv4 or IPv6 routes', () => {
    let o = setUp({ routes4: ['eth0', 'ens1f0'] });
    expect(messageOf(() => unbindDevice(A, o))).toMatch(/^refusing to unbind 0000:5e:00.0 from ixgbe: interface ens1f0 has routes;/);
    sys.cleanup();
    proc.cleanup();
    o = setUp({ up: true, routes6: ['ens1f0'] });
    expect(messageOf(() => unbindDevice(A, o))).toMatch(/interface ens1f0 is up and has routes; .* or pass --force$/);
    expect(kernel.log).toEqual([]);
  });

  it('--force unbinds anyway, with a warning', () => {
    const o = setUp({ up: true, routes4: ['ens1f0'] });
    const r = unbindDevice(A, { ...o, force: true });
    expect(r.actions).toEqual(['warning: interface ens1f0 is up and has routes (--force given)', `unbound ${A} from ixgbe`]);
    expect(kernel.log).toEqual([['bus/pci/drivers/ixgbe/unbind', A]]);
    expect(driverOf()).toBeUndefined();
    expect(unbindDevice(A, o).actions).toEqual([`${A} is not bound to any driver`]);
  });

  it('says which module to load when the driver is missing', () => {
    const o = setUp({ drivers: [] });
    expect(messageOf(() => bindDevice(A, 'uio_pci_generic', o))).toBe(
      `kernel driver uio_pci_generic is not loaded (no ${sys.root}/bus/pci/drivers/uio_pci_generic): run \`sudo modprobe uio_pci_generic\``,
    );
    expect(kernel.log).toEqual([]);
  });

  it('needs an IOMMU for vfio-pci', () => {
    let o = setUp({ driver: null });
    expect(messageOf(() => bindDevice(A, 'vfio-pci', o))).toMatch(/^vfio-pci needs an IOMMU and .*iommu_groups is empty: .*--driver uio_pci_generic$/);
    sys.cleanup();
    proc.cleanup();
    o = setUp({ driver: null, iommuGroups: 2 });
    expect(bindDevice(A, 'vfio-pci', o).actions).toEqual([`bound ${A} to vfio-pci`]);
    expect(driverOf()).toBe('vfio-pci');
  });

  it('reports a refused bind and still clears driver_override', () => {
    const o = setUp({ driver: null });
    const refusing = (file: string, text: string) => {
      if (file.endsWith('/bind')) throw Object.assign(new Error('ENODEV: No such device'), { code: 'ENODEV' });
      kernel.write(file, text);
    };
    expect(messageOf(() => bindDevice(A, 'uio_pci_generic', { ...o, write: refusing }))).toBe(
      `cannot bind ${A} to uio_pci_generic (${sys.root}/bus/pci/drivers/uio_pci_generic/bind): ENODEV: No such device`,
    );
    expect(fs.readFileSync(`${sys.deviceDir(A)}/driver_override`, 'utf8')).toBe('(null)\n');
    // a kernel that accepts the write but binds nothing
    expect(messageOf(() => bindDevice(A, 'uio_pci_generic', { ...o, write: () => undefined }))).toBe(
      `the kernel did not bind ${A} to uio_pci_generic (bound: none); see \`dmesg\` for why`,
    );
  });

  it('asks for root when sysfs refuses the write, and rejects unknown addresses and drivers', () => {
    const o = setUp();
    const denied = () => {
      throw Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' });
    };
    expect(messageOf(() => unbindDevice(A, { ...o, write: denied }))).toBe(
      `tinynf needs root to unbind ${A} from ixgbe (${sys.root}/bus/pci/drivers/ixgbe/unbind): run it with sudo`,
    );
    expect(messageOf(() => unbindDevice('0000:77:00.0', o))).toMatch(/^no PCI device at 0000:77:00.0 /);
    expect(messageOf(() => bindDevice(A, 'igb_uio' as never, o))).toBe("unsupported driver 'igb_uio': use one of uio_pci_generic, vfio-pci");
  });
});

describe('routedInterfaces', () => {
  it("agrees with `ip route` on this machine's real routing tables (read only)", () => {
    let v4: string;
    let v6: string;
    try {
      v4 = execFileSync('ip', ['-o', '-4', 'route', 'show'], { encoding: 'utf8' });
      v6 = execFileSync('ip', ['-o', '-6', 'route', 'show'], { encoding: 'utf8' });
    } catch {
      console.log('skipping: the ip command is not available');
      return;
    }
    const fromIp = new Set([...(v4 + v6).matchAll(/ dev (\S+)/g)].map((m) => m[1]).filter((n) => n !== 'lo'));
    const routed = routedInterfaces('/proc');
    // the main IPv4 table and the IPv6 table (what /proc/net/route and ipv6_route show): the same interfaces
    for (const name of fromIp) expect(routed.has(name)).toBe(true);
    for (const name of routed) expect(fromIp.has(name)).toBe(true);
  });
});
