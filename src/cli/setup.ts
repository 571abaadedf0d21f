// `tinynf setup hugepages N`: reserve N 2 MiB huge pages and mount hugetlbfs if needed (like dpdk-hugepages).
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { DEFAULT_HUGETLBFS_MOUNT, DEFAULT_STATE_DIR, setupHugepages } from '../env/hugepages';
import { TinyNfError } from '../env/environment';

interface HugepagesArgs {
  count: string;
  sysfsRoot: string;
  mounts: string;
  mountPoint: string;
  stateDir: string;
}

const hugepages: CommandModule<object, HugepagesArgs> = {
  command: 'hugepages <count>',
  describe: 'reserve <count> 2 MiB huge pages (total) and mount hugetlbfs if none is mounted; 0 frees them and unmounts what setup mounted',
  builder: (y: Argv) =>
    y
      .positional('count', { type: 'string', describe: 'pages the pool should hold, e.g. 64', demandOption: true })
      .option('mount-point', { type: 'string', default: DEFAULT_HUGETLBFS_MOUNT, describe: 'where to mount hugetlbfs if needed' })
      .option('sysfs-root', { type: 'string', default: '/sys', describe: 'sysfs mount point', hidden: true })
      .option('mounts', { type: 'string', default: '/proc/mounts', describe: 'mount table to read', hidden: true })
      .option('state-dir', { type: 'string', default: DEFAULT_STATE_DIR, describe: 'where setup remembers what it mounted', hidden: true }) as unknown as Argv<HugepagesArgs>,
  handler: (args: ArgumentsCamelCase<HugepagesArgs>) => {
    const count = String(args.count);
    if (!/^[0-9]+$/.test(count)) {
      throw new TinyNfError(`invalid number of huge pages '${count}': expected a whole number, e.g. 64`);
    }
    const r = setupHugepages(Number.parseInt(count, 10), { sysfsRoot: args.sysfsRoot, mountsPath: args.mounts, mountPoint: args.mountPoint, stateDir: args.stateDir });
    process.stdout.write(`huge pages (2 MiB): ${r.previousTotal} -> ${r.total} reserved, ${r.free} free\n`);
    if (Number(count) === 0) {
      process.stdout.write(
        r.unmounted !== undefined
          ? `hugetlbfs: unmounted ${r.unmounted} (tinynf setup had mounted it)\n`
          : r.mountPoint !== ''
            ? `hugetlbfs: left mounted at ${r.mountPoint} (tinynf setup did not mount it)\n`
            : 'hugetlbfs: not mounted\n',
      );
      return;
    }
    process.stdout.write(
      r.mounted
        ? `hugetlbfs: mounted at ${r.mountPoint} (pagesize=2M)\n`
        : `hugetlbfs: already mounted at ${r.mountPoint}\n`,
    );
  },
};

export const command: CommandModule = {
  command: 'setup <what>',
  describe: 'prepare the machine: `setup hugepages N`',
  builder: (y) => y.command(hugepages).demandCommand(1, 'what to set up: hugepages'),
  handler: () => {
    // only reached for an unknown <what>: the subcommand's handler runs otherwise
  },
};
