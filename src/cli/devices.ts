// `tinynf devices`: the PCI network devices of this machine, their drivers and interfaces (read only), with the
// NICs tinynf can drive marked (82599ES, virtio-net) — the status part of dpdk-devbind.
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { PciNetworkDevice, hex4, listNetworkDevices } from '../env/sysfs';

interface DevicesArgs {
  sysfsRoot: string;
  json: boolean;
}

export function formatDevice(d: PciNetworkDevice): string {
  const ifs = d.interfaces.length === 0 ? 'none' : d.interfaces.map((i) => `${i.name} (${i.up ? 'up' : 'down'})`).join(', ');
  const support = d.model === '82599ES' ? '  supported: Intel 82599ES' : d.model !== null ? `  supported: ${d.model} (tinynf run --virtio)` : '';
  return `${d.address}  ${hex4(d.vendor)}:${hex4(d.device)}  driver=${d.driver ?? 'none'}  if=${ifs}${support}`;
}

export const command: CommandModule<object, DevicesArgs> = {
  command: 'devices',
  describe: 'list PCI network devices: address, vendor:device, kernel driver, interfaces (up/down)',
  builder: (y: Argv) =>
    y
      .option('json', { type: 'boolean', default: false, describe: 'print one JSON array' })
      .option('sysfs-root', { type: 'string', default: '/sys', describe: 'sysfs mount point', hidden: true }) as unknown as Argv<DevicesArgs>,
  handler: (args: ArgumentsCamelCase<DevicesArgs>) => {
    const devices = listNetworkDevices(args.sysfsRoot);
    if (args.json) {
      process.stdout.write(
        JSON.stringify(
          devices.map((d) => ({
            address: d.address,
            vendor: hex4(d.vendor),
            device: hex4(d.device),
            driver: d.driver ?? null,
            interfaces: d.interfaces,
            supported: d.supported,
            model: d.model,
          })),
        ) + '\n',
      );
      return;
    }
    if (devices.length === 0) {
      process.stdout.write('no PCI network devices\n');
      return;
    }
    process.stdout.write(`PCI network devices (class 02):\n`);
    for (const d of devices) process.stdout.write(formatDevice(d) + '\n');
  },
};
