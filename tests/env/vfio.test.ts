// The VFIO environment against a model of the kernel's VFIO in front of the in-memory 82599
// (helpers/vfio-sim-kernel.ts): the ioctl sequence, regions, DMA at chosen IOVAs, the errors a user meets, cleanup.
import { TinyNfError } from '../../src/env/environment';
import { describeIommuGroup, iommuGroupInfo } from '../../src/env/sysfs';
import * as A from '../../src/env/vfio-abi';
import { DEFAULT_IOVA_BASE, VfioEnvironment, hardwareEnvironment, mayBypassIommu } from '../../src/env/vfio';
import { createFakeSysfs } from './helpers/fake-sysfs';
import { SimMachine } from '../../src/sim/machine';
import { vfioSim } from './helpers/vfio-sim';

function machine(ports = 2): SimMachine {
  return new SimMachine({ ports, dmaBytes: 8 * 1024 * 1024 });
}

describe('VFIO environment (model of the kernel)', () => {
  test('config space and BAR0 through the device fd; DMA at the IOVAs we choose, mapped once the IOMMU is set', () => {
    const m = machine();
    const sim = vfioSim(m);
    try {
      const env = sim.env();
      // allocated before any device is open: the IOMMU is not set yet, the mapping waits
      const early = env.allocateDma(4096);
      expect(early.phys).toBe(DEFAULT_IOVA_BASE);
      expect(sim.kernel.mappings).toEqual([]);
      const a = m.addresses[0];
      expect(env.pciRead32(a, 0)).toBe(0x10fb8086);
      expect(sim.kernel.calls.slice(0, 6)).toEqual(['container:0', 'container:1', 'group:3', 'group:4', 'container:2', 'container:13']);
      expect(sim.kernel.mappings).toEqual([{ iova: DEFAULT_IOVA_BASE, size: 2 * 1024 * 1024, vaddr: 0x7f00_0000_0000 }]);
      const late = env.allocateDma(100);
      expect(late.phys).toBe(DEFAULT_IOVA_BASE + 2 * 1024 * 1024);
      expect(sim.kernel.mappings.length).toBe(2);
      expect(env.virtToPhys(late.buffer, 0x123)).toBe(late.phys + 0x123);
      expect(() => env.virtToPhys(new SharedArrayBuffer(8), 0)).toThrow(TinyNfError);

      expect(env.regionInfo(a, A.VFIO_PCI_CONFIG_REGION_INDEX)).toEqual({ index: 7, flags: 3, size: 4096, offset: 7 * 2 ** 40 });
      const bar0 = env.regionInfo(a, A.VFIO_PCI_BAR0_REGION_INDEX);
      expect(bar0.flags & A.VFIO_REGION_INFO_FLAG_MMAP).not.toBe(0);
      expect(env.mapBar0(a)).toBe(m.bar0(a));
      expect(env.pciRead(a, 2, 2)).toBe(0x10fb);
      expect(env.pciRead(a, 0, 1)).toBe(0x86);
      // a register through pread of the BAR region equals the mmap'd view
      const regs = new Uint32Array(m.bar0(a));
      expect(env.barRead(a, 0, 0x8, 4)).toBe(regs[0x8 >>> 2]); // STATUS
      expect(env.groupOf(a)).toBe(10);

      // the device reaches the DMA memory at its IOVA and nowhere else
      new Uint8Array(late.buffer)[5] = 0xab;
      const r = m.memory.translate(late.phys + 5, 1);
      expect(r).toBeGreaterThanOrEqual(0);
      expect(m.memory.regions[r].bytes[m.memory.offset]).toBe(0xab);
      expect(m.memory.translate(DEFAULT_IOVA_BASE + 4 * 1024 * 1024, 1)).toBe(-1);
      env.close();
    } finally {
      sim.cleanup();
    }
  });

  test('close() unmaps and closes everything; the group opens again in a new environment', () => {
    const m = machine();
    const sim = vfioSim(m);
    try {
      const first = sim.env();
      first.allocateDma(64);
      first.mapBar0(m.addresses[0]);
      first.mapBar0(m.addresses[1]);
      expect(() => sim.env().pciRead32(m.addresses[0], 0)).toThrow(/IOMMU group 10 .*another process/);
      first.close();
      expect(sim.kernel.openFds).toBe(0);
      // BAR mappings are let go of before the device fds close (a mapping keeps the device, hence the group, open)
      expect(sim.kernel.released).toEqual([m.bar0(m.addresses[0]), m.bar0(m.addresses[1])]);
      expect(sim.kernel.mappings).toEqual([]);
      expect(() => first.allocateDma(64)).toThrow(/closed/);
      const second = sim.env();
      const d = second.allocateDma(64);
      expect(second.pciRead32(m.addresses[0], 0)).toBe(0x10fb8086);
      expect(sim.kernel.mappings.map((x) => x.iova)).toEqual([d.phys]);
      second.close();
      expect(sim.kernel.openFds).toBe(0);
    } finally {
      sim.cleanup();
    }
  });

  test('unmapDma takes one buffer out of the IOMMU', () => {
    const m = machine();
    const sim = vfioSim(m);
    try {
      const env = sim.env();
      env.pciRead32(m.addresses[0], 0);
      const a = env.allocateDma(64);
      const b = env.allocateDma(64);
      env.unmapDma(a.buffer);
      expect(sim.kernel.mappings.map((x) => x.iova)).toEqual([b.phys]);
      expect(m.memory.translate(a.phys, 4)).toBe(-1);
      env.close();
    } finally {
      sim.cleanup();
    }
  });

  test('a device not on vfio-pci: one line naming the command that fixes it', () => {
    const m = machine();
    const sim = vfioSim(m, { drivers: { [m.addresses[0]]: 'ixgbe' } });
    try {
      expect(() => sim.env().mapBar0(m.addresses[0])).toThrow(
        `${m.addresses[0]} is bound to ixgbe, not vfio-pci: run \`sudo npx tinynf bind --vfio ${m.addresses[0]}\``,
      );
    } finally {
      sim.cleanup();
    }
  });

  test('a group with a member on a kernel driver is not viable, in sysfs and for the kernel', () => {
    const m = machine(1);
    const other = '0000:5e:01.0';
    const sim = vfioSim(m, { extra: [{ address: other, driver: 'snd_hda_intel', group: 10 }] });
    try {
      const info = iommuGroupInfo(sim.sysfs.root, m.addresses[0]);
      expect(info).toEqual({
        group: 10,
        devices: [
          { address: m.addresses[0], driver: 'vfio-pci' },
          { address: other, driver: 'snd_hda_intel' },
        ],
        viable: false,
      });
      expect(describeIommuGroup(info!, m.addresses[0])).toBe(
        `IOMMU group 10: 2 device(s), NOT viable; bind these to vfio-pci too (or unbind them): ${other} (snd_hda_intel)`,
      );
      expect(() => sim.env().pciRead32(m.addresses[0], 0)).toThrow(/IOMMU group 10 of 0000:5e:00.0 is not viable/);
      expect(sim.kernel.openFds).toBe(0); // a failed open leaves no fd behind
    } finally {
      sim.cleanup();
    }
  });

  test('no interrupt remapping: VFIO_SET_IOMMU fails with EPERM and the message says what to do', () => {
    const m = machine(1);
    const sim = vfioSim(m, { noInterruptRemapping: true });
    try {
      expect(() => sim.env().pciRead32(m.addresses[0], 0)).toThrow(/VFIO_SET_IOMMU .*Operation not permitted.*intremap=on/);
      expect(sim.kernel.openFds).toBe(0);
    } finally {
      sim.cleanup();
    }
  });

  test('no IOMMU group, no VFIO module, an IOVA the IOMMU refuses: one line each', () => {
    const m = machine(1);
    const a = m.addresses[0];
    let sim = vfioSim(m, { noGroup: [a] });
    try {
      expect(() => sim.env().pciRead32(a, 0)).toThrow(`${a} has no IOMMU group: the IOMMU is off (intel_iommu=on iommu=pt on the kernel command line)`);
    } finally {
      sim.cleanup();
    }
    sim = vfioSim(m, { noVfio: true });
    try {
      expect(() => sim.env().pciRead32(a, 0)).toThrow(
        'cannot open /dev/vfio/vfio: No such file or directory (errno 2); VFIO is not loaded: run `sudo modprobe vfio-pci`',
      );
    } finally {
      sim.cleanup();
    }
    sim = vfioSim(m);
    try {
      // memory the kernel cannot pin (not a page of ours): MAP_DMA fails with EFAULT, reported with the IOVA
      const env = new VfioEnvironment({
        sysfsRoot: sim.sysfs.root,
        system: sim.kernel,
        hugepage: () => ({ buffer: new SharedArrayBuffer(2 * 1024 * 1024), virtualAddress: 0x1000_0000_0000 }),
        clock: { sleepUs: () => undefined, nowNs: () => 0 },
      });
      env.pciRead32(a, 0);
      expect(() => env.allocateDma(64)).toThrow(/^VFIO_IOMMU_MAP_DMA of 2097152 bytes at IOVA 0x100000000 failed: Bad address \(errno 14\)$/);
      env.close();
      expect(sim.kernel.openFds).toBe(0);
    } finally {
      sim.cleanup();
    }
  });

  test('the IOVA base must be 2 MiB aligned; allocations are 1 byte to 2 MiB', () => {
    const m = machine(1);
    const sim = vfioSim(m);
    try {
      expect(() => sim.env(0x1000)).toThrow(/multiple of 2 MiB/);
      const env = sim.env(0x40_0000_0000);
      expect(env.allocateDma(1).phys).toBe(0x40_0000_0000);
      expect(() => env.allocateDma(2 * 1024 * 1024 + 1)).toThrow(/refused/);
      env.close();
    } finally {
      sim.cleanup();
    }
  });
});

describe('hardwareEnvironment: what `tinynf run --pci/--virtio` runs on', () => {
  test('VFIO when every port is on vfio-pci, Linux when none is, one line when mixed', () => {
    const sys = createFakeSysfs({
      devices: [
        { address: '0000:5e:00.0', vendor: 0x8086, device: 0x10fb, driver: 'vfio-pci', iommuGroup: 1 },
        { address: '0000:5e:00.1', vendor: 0x8086, device: 0x10fb, driver: 'vfio-pci', iommuGroup: 2 },
        { address: '0000:5f:00.0', vendor: 0x8086, device: 0x10fb, driver: 'uio_pci_generic' },
        { address: '0000:5f:00.1', vendor: 0x8086, device: 0x10fb },
      ],
    });
    try {
      const v = hardwareEnvironment(['0000:5e:00.0', '0000:5e:00.1'], sys.root);
      expect(v.env.name).toBe('vfio');
      v.close();
      const l = hardwareEnvironment(['0000:5f:00.0', '0000:5f:00.1'], sys.root);
      expect(l.env.name).toBe('linux');
      l.close();
      expect((v.env as VfioEnvironment).iovaMode).toBe('chosen');
      expect(() => hardwareEnvironment(['0000:5e:00.0', '0000:5f:00.0'], sys.root)).toThrow(
        '0000:5e:00.0 is bound to vfio-pci but 0000:5f:00.0 is not: bind every port the same way (`sudo npx tinynf bind --vfio ADDR` for each)',
      );
    } finally {
      sys.cleanup();
    }
  });

  test('a legacy or transitional virtio device (1af4:1000..103f) gets IOVA = physical address; a modern one our IOVAs', () => {
    const sys = createFakeSysfs({
      devices: [
        { address: '0000:00:10.0', vendor: 0x1af4, device: 0x1000, driver: 'vfio-pci', iommuGroup: 1 },
        { address: '0000:00:11.0', vendor: 0x1af4, device: 0x1000, driver: 'vfio-pci', iommuGroup: 2 },
        { address: '0000:00:12.0', vendor: 0x1af4, device: 0x1041, driver: 'vfio-pci', iommuGroup: 3 },
        { address: '0000:00:13.0', vendor: 0x1af4, device: 0x1041, driver: 'vfio-pci', iommuGroup: 4 },
      ],
    });
    try {
      expect(mayBypassIommu(sys.root, '0000:00:10.0')).toBe(true);
      expect(mayBypassIommu(sys.root, '0000:00:12.0')).toBe(false);
      const legacy = hardwareEnvironment(['0000:00:10.0', '0000:00:11.0'], sys.root);
      expect((legacy.env as VfioEnvironment).iovaMode).toBe('physical');
      legacy.close();
      const modern = hardwareEnvironment(['0000:00:12.0', '0000:00:13.0'], sys.root);
      expect((modern.env as VfioEnvironment).iovaMode).toBe('chosen');
      modern.close();
    } finally {
      sys.cleanup();
    }
  });
});
