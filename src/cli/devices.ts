// `tinynf devices`: the PCI network devices of this machine, their drivers and interfaces (read only), with the
// NICs tinynf can drive marked (82599ES, virtio-net) — the status part of dpdk-devbind.
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { IommuGroup, PciNetworkDevice, hex4, iommuGroupInfo, listNetworkDevices } from '../env/sysfs';

interface DevicesArgs {
  sysfsRoot: string;
  json: boolean;
}

export function formatDevice(d: PciNetworkDevice, group?: IommuGroup): string {
  const ifs = d.interfaces.length === 0 ? 'none' : d.interfaces.map((i) => `${i.name} (${i.up ? 'up' : 'down'})`).join(', ');
  const support = d.model === '82599ES' ? '  supported: Intel 82599ES' : d.model !== null ? `  supported: ${d.model} (tinynf run --virtio)` : '';
  const iommu = group === undefined ? '' : `  iommu_group=${group.group} (${group.viable ? 'viable' : 'not viable'})`;
  return `${d.address}  ${hex4(d.vendor)}:${hex4(d.device)}  driver=${d.driver ?? 'none'}  if=${ifs}${iommu}${support}`;
}

export const command: CommandModule<object, DevicesArgs> = {
  command: 'devices',
  describe: 'list PCI network devices: address, vendor:device, kernel driver, interfaces (up/down), IOMMU group',
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
            iommu_group: groupJson(iommuGroupInfo(args.sysfsRoot, d.address)),
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
    for (const d of devices) process.stdout.write(formatDevice(d, iommuGroupInfo(args.sysfsRoot, d.address)) + '\n');
  },
};

/** JSON form of a device's IOMMU group: null without an IOMMU. */
function groupJson(g: IommuGroup | undefined): { group: number; viable: boolean; devices: { address: string; driver: string | null }[] } | null {
  if (g === undefined) return null;
  return { group: g.group, viable: g.viable, devices: g.devices.map((m) => ({ address: m.address, driver: m.driver ?? null })) };
}
