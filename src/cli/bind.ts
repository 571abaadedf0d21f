// `tinynf bind ADDR [--driver uio_pci_generic|vfio-pci] [--force]`: hand a port to a user-space I/O driver, as
// dpdk-devbind --bind does (driver_override; refuses to take an interface that is up or routed).
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { BIND_DRIVERS, BindDriver, bindDevice } from '../env/sysfs';

interface BindArgs {
  address: string;
  driver: BindDriver;
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
      .option('driver', { choices: BIND_DRIVERS, default: 'uio_pci_generic' as BindDriver, describe: 'driver to bind to' })
      .option('force', { type: 'boolean', default: false, describe: 'unbind even if an interface is up or routed' })
      .option('sysfs-root', { type: 'string', default: '/sys', hidden: true })
      .option('proc-root', { type: 'string', default: '/proc', hidden: true }) as unknown as Argv<BindArgs>,
  handler: (args: ArgumentsCamelCase<BindArgs>) => {
    const r = bindDevice(args.address, args.driver, { sysfsRoot: args.sysfsRoot, procRoot: args.procRoot, force: args.force });
    for (const line of r.actions) process.stdout.write(line + '\n');
    if (args.driver === 'vfio-pci') {
      process.stdout.write(
        'note: tinynf gives the NIC physical addresses (pagemap); with vfio-pci the IOMMU must be in passthrough mode (iommu=pt)\n',
      );
    }
  },
};
