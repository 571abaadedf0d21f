// `tinynf bind ADDR [--driver uio_pci_generic|vfio-pci | --vfio] [--force]`: hand a port to a user-space I/O driver,
// as dpdk-devbind --bind does (driver_override; refuses to take an interface that is up or routed). `--vfio` is
// `--driver vfio-pci`, and then the IOMMU group is reported: VFIO can open it only when it is viable.
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { TinyNfError } from '../env/environment';
import { BIND_DRIVERS, BindDriver, bindDevice, describeIommuGroup, iommuGroupInfo } from '../env/sysfs';

interface BindArgs {
  address: string;
  driver?: BindDriver;
  vfio: boolean;
  force: boolean;
  sysfsRoot: string;
  procRoot: string;
}

export const command: CommandModule<object, BindArgs> = {
  command: 'bind <address>',
  describe: 'unbind a PCI device from its kernel driver and bind it to uio_pci_generic or vfio-pci',
  builder: (y: Argv) =>
    y
      .positional('address', { type: 'string', describe: 'PCI address, e.g. 0000:5e:00.0', demandOption: true })
      .option('driver', { choices: BIND_DRIVERS, describe: 'driver to bind to (default uio_pci_generic)' })
      .option('vfio', { type: 'boolean', default: false, describe: 'bind to vfio-pci (the IOMMU confines the NIC\'s DMA to tinynf\'s memory)' })
      .option('force', { type: 'boolean', default: false, describe: 'unbind even if an interface is up or routed' })
      .option('sysfs-root', { type: 'string', default: '/sys', hidden: true })
      .option('proc-root', { type: 'string', default: '/proc', hidden: true }) as unknown as Argv<BindArgs>,
  handler: (args: ArgumentsCamelCase<BindArgs>) => {
    if (args.vfio && args.driver !== undefined && args.driver !== 'vfio-pci') {
      throw new TinyNfError(`--vfio binds to vfio-pci: it cannot be combined with --driver ${args.driver}`);
    }
    const driver: BindDriver = args.vfio ? 'vfio-pci' : (args.driver ?? 'uio_pci_generic');
    const r = bindDevice(args.address, driver, { sysfsRoot: args.sysfsRoot, procRoot: args.procRoot, force: args.force });
    for (const line of r.actions) process.stdout.write(line + '\n');
    if (driver === 'vfio-pci') {
      const g = iommuGroupInfo(args.sysfsRoot, r.address);
      if (g !== undefined) process.stdout.write(describeIommuGroup(g, r.address) + '\n');
    }
  },
};
