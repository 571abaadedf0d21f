// Listing PCI network devices from sysfs: a temporary root with known contents, and this machine's real /sys.
import * as fs from 'fs';
import { listNetworkDevices } from '../../src/env/sysfs';
import { createFakeSysfs } from './helpers/fake-sysfs';

describe('listNetworkDevices', () => {
  it('lists class 02 devices with driver, interfaces and state, and marks 82599ES and virtio-net as supported', () => {
    const sys = createFakeSysfs({
      devices: [
        { address: '0000:5e:00.1', vendor: 0x8086, device: 0x10fb, driver: 'ixgbe', interfaces: [{ name: 'ens1f1', operstate: 'down', flags: 0x1002 }] },
        { address: '0000:5e:00.0', vendor: 0x8086, device: 0x10fb, driver: 'vfio-pci' },
        { address: '0000:00:03.0', vendor: 0x1af4, device: 0x1041, driver: 'virtio-pci',
          interfaces: [{ name: 'eth0', operstate: 'up', flags: 0x1003, child: 'virtio2' }] },
        { address: '0000:00:04.0', vendor: 0x8086, device: 0x1572, classCode: 0x020000,
          interfaces: [{ name: 'eth1', operstate: 'unknown', flags: 0x1003 }, { name: 'eth2', operstate: 'unknown', flags: 0x1002 }] },
        { address: '0000:00:01.0', vendor: 0x1af4, device: 0x1042, classCode: 0x010000 }, // storage: not listed
      ],
    });
    try {
      const list = listNetworkDevices(sys.root);
      expect(list.map((d) => d.address)).toEqual(['0000:00:03.0', '0000:00:04.0', '0000:5e:00.0', '0000:5e:00.1']);
      const [virtio, x710, x520a, x520b] = list;
      expect(virtio).toMatchObject({ vendor: 0x1af4, device: 0x1041, driver: 'virtio-pci', supported: true, model: 'virtio-net modern',
        interfaces: [{ name: 'eth0', up: true, operstate: 'up' }] });
      // operstate "unknown" (e.g. no carrier detection): flags bit 0 (IFF_UP) decides
      expect(x710.interfaces).toEqual([{ name: 'eth1', up: true, operstate: 'unknown' }, { name: 'eth2', up: false, operstate: 'unknown' }]);
      expect(x710.driver).toBeUndefined();
      expect(x520a).toMatchObject({ driver: 'vfio-pci', interfaces: [], supported: true, model: '82599ES' });
      expect(x710).toMatchObject({ supported: false, model: null });
      expect(x520b).toMatchObject({ driver: 'ixgbe', supported: true, interfaces: [{ name: 'ens1f1', up: false }] });
    } finally {
      sys.cleanup();
    }
  });

  it("finds this machine's network devices in /sys (the virtio NIC's interface under virtioN/net)", () => {
    const real = listNetworkDevices('/sys');
    // Independent check: every class 02 device in /sys, by reading the class files directly.
    const expected = fs
      .readdirSync('/sys/bus/pci/devices')
      .filter((a) => fs.readFileSync(`/sys/bus/pci/devices/${a}/class`, 'utf8').startsWith('0x02'))
      .sort();
    expect(real.map((d) => d.address)).toEqual(expected);
    for (const d of real) {
      // every interface sysfs links to this device appears
      const fromClassNet = fs
        .readdirSync('/sys/class/net')
        .filter((n) => fs.realpathSync(`/sys/class/net/${n}`).includes(`/${d.address}/`))
        .sort();
      expect(d.interfaces.map((i) => i.name)).toEqual(fromClassNet);
    }
  });
});
