// `tinynf unbind ADDR [--force]`: detach a PCI device from its kernel driver, as dpdk-devbind --unbind does
// (refuses to take an interface that is up or routed).
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { unbindDevice } from '../env/sysfs';

interface UnbindArgs {
  address: string;
  force: boolean;
  sysfsRoot: string;
  procRoot: string;
}

export const command: CommandModule<object, UnbindArgs> = {
  command: 'unbind <address>',
  describe: 'detach a PCI device from its kernel driver',
  builder: (y: Argv) =>
    y
      .positional('address', { type: 'string', describe: 'PCI address, e.g. 0000:5e:00.0', demandOption: true })
      .option('force', { type: 'boolean', default: false, describe: 'unbind even if an interface is up or routed' })
      .option('sysfs-root', { type: 'string', default: '/sys', hidden: true })
      .option('proc-root', { type: 'string', default: '/proc', hidden: true }) as unknown as Argv<UnbindArgs>,
  handler: (args: ArgumentsCamelCase<UnbindArgs>) => {
    const r = unbindDevice(args.address, { sysfsRoot: args.sysfsRoot, procRoot: args.procRoot, force: args.force });
    for (const line of r.actions) process.stdout.write(line + '\n');
  },
};
