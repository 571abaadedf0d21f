// A VFIO environment over the in-memory 82599: a fake sysfs (devices bound to vfio-pci, one IOMMU group each
// unless told otherwise) and the model of the kernel's VFIO in vfio-sim-kernel.ts in front of a SimMachine.
import { VfioEnvironment } from '../../../src/env/vfio';
import type { SimMachine } from '../../../src/sim/machine';
import { FakeSysfs, createFakeSysfs } from './fake-sysfs';
import { SimVfioKernel } from './vfio-sim-kernel';

export interface VfioSim {
  readonly sysfs: FakeSysfs;
  readonly kernel: SimVfioKernel;
  /** A new VFIO environment on this machine (several may be made one after another: the group is reusable). */
  env(iovaBase?: number): VfioEnvironment;
  cleanup(): void;
}

export interface VfioSimOptions {
  /** Driver of each device (default vfio-pci). */
  drivers?: Record<string, string | undefined>;
  /** IOMMU group of each device (default: 10 + port index). */
  groups?: Record<string, number>;
  /** Extra devices in the fake sysfs (e.g. a non-NIC group member). */
  extra?: { address: string; driver?: string; group: number }[];
  noInterruptRemapping?: boolean;
  noVfio?: boolean;
  /** Devices with no iommu_group link (the IOMMU is off for them). */
  noGroup?: string[];
}

export function vfioSim(machine: SimMachine, options: VfioSimOptions = {}): VfioSim {
  const groups: Record<string, number> = {};
  machine.addresses.forEach((a, i) => (groups[a] = options.groups?.[a] ?? 10 + i));
  for (const e of options.extra ?? []) groups[e.address] = e.group;
  const sysfs = createFakeSysfs({
    drivers: ['vfio-pci'],
    devices: [
      ...machine.addresses.map((a) => ({
        address: a,
        vendor: 0x8086,
        device: 0x10fb,
        resource0Bytes: 0,
        driver: options.drivers !== undefined && a in options.drivers ? options.drivers[a] : 'vfio-pci',
        iommuGroup: options.noGroup?.includes(a) === true ? undefined : groups[a],
      })),
      ...(options.extra ?? []).map((e) => ({ address: e.address, vendor: 0x8086, device: 0x1234, resource0Bytes: 0, driver: e.driver, iommuGroup: e.group })),
    ],
  });
  const kernel = new SimVfioKernel(machine, { groups, sysfsRoot: sysfs.root, noInterruptRemapping: options.noInterruptRemapping, noVfio: options.noVfio });
  const clock = { sleepUs: (us: number) => machine.advanceUs(us), nowNs: () => machine.nowNs() };
  return {
    sysfs,
    kernel,
    env: (iovaBase) => new VfioEnvironment({ sysfsRoot: sysfs.root, system: kernel, hugepage: kernel.hugepage, clock, iovaBase }),
    cleanup: () => sysfs.cleanup(),
  };
}
