// `tinynf vm prepare | run`: the QEMU lab (docs/virtio.md). `prepare` puts a Debian kernel and our initramfs into
// the cache; `run -- CMD...` boots a guest with virtio-net NICs, runs CMD in it (cwd = the current directory, which
// the guest sees at the same path), prints its stdout/stderr and exits with its status.
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { TinyNfError } from '../env/environment';
import { NicOptions, NicVariant, defaultCacheDir, nicAddress, prepareImage, runGuest } from '../vm';
import { runVirtioBench } from '../vm/bench';

interface PrepareArgs {
  cache: string;
  kernelPackage?: string;
}

interface RunArgs extends PrepareArgs {
  nics: number;
  tap?: string;
  variant: NicVariant;
  iommu: boolean;
  bind?: 'uio_pci_generic' | 'vfio-pci';
  hugepages: number;
  memory: number;
  timeout: number;
  append?: string;
  console: boolean;
  '--'?: (string | number)[];
  _: (string | number)[];
}

function cacheOption(y: Argv): Argv {
  return y
    .option('cache', { type: 'string', default: defaultCacheDir(), describe: 'cache directory for the kernel and initramfs ($TINYNF_VM_CACHE)' })
    .option('kernel-package', { type: 'string', describe: 'Debian kernel package (default: what linux-image-amd64 depends on)' });
}

const prepare: CommandModule<object, PrepareArgs> = {
  command: 'prepare',
  describe: 'download a Debian kernel and build the guest initramfs into the cache',
  builder: (y: Argv) => cacheOption(y) as unknown as Argv<PrepareArgs>,
  handler: (args: ArgumentsCamelCase<PrepareArgs>) => {
    const image = prepareImage({ cacheDir: args.cache, kernelPackage: args.kernelPackage, log: (l) => process.stderr.write(`tinynf vm: ${l}\n`) });
    process.stdout.write(`guest image ready: kernel ${image.kernel}, initramfs ${image.initramfs}\n`);
  },
};

/** `--tap IF[@NETNS],...` -> TAP backends; else `--nics N` on QEMU hubs, NICs 2k and 2k+1 cabled together. */
function nicsOf(args: RunArgs): NicOptions[] {
  if (args.tap !== undefined) {
    return args.tap.split(',').map((spec) => {
      const [ifname, netns] = spec.split('@');
      if (ifname === undefined || ifname === '') throw new TinyNfError(`--tap '${args.tap}': expected IF[@NETNS],...`);
      return { backend: { kind: 'tap' as const, ifname, netns } };
    });
  }
  if (!Number.isInteger(args.nics) || args.nics < 0 || args.nics > 16) throw new TinyNfError('--nics must be 0..16');
  return Array.from({ length: args.nics }, (_, i) => ({ backend: { kind: 'hub' as const, hub: i >> 1 } }));
}

const run: CommandModule<object, RunArgs> = {
  command: 'run',
  describe: 'boot a guest with virtio-net NICs and run the command after -- in it',
  builder: (y: Argv) =>
    cacheOption(y)
      .parserConfiguration({ 'populate--': true })
      .option('nics', { type: 'number', default: 2, describe: 'NICs on QEMU hubs (0+1 on one hub, 2+3 on the next...)' })
      .option('tap', { type: 'string', describe: 'NICs on existing TAPs instead: IF[@NETNS],...' })
      .option('variant', { choices: ['modern', 'legacy'] as const, default: 'modern' as NicVariant, describe: 'virtio 1.x or 0.9.5 NICs' })
      .option('iommu', { type: 'boolean', default: false, describe: 'q35 + emulated Intel IOMMU (for vfio-pci)' })
      .option('bind', { choices: ['uio_pci_generic', 'vfio-pci'] as const, describe: 'bind the NICs to this driver first' })
      .option('hugepages', { type: 'number', default: 128, describe: '2 MiB huge pages reserved at boot' })
      .option('memory', { type: 'number', default: 1024, describe: 'guest memory in MiB' })
      .option('timeout', { type: 'number', default: 300, describe: 'seconds before the guest is killed' })
      .option('append', { type: 'string', describe: 'extra kernel parameters' })
      .option('console', { type: 'boolean', default: false, describe: 'show the serial console as it comes' }) as unknown as Argv<RunArgs>,
  handler: async (args: ArgumentsCamelCase<RunArgs>) => {
    const command = (args['--'] ?? []).map(String);
    if (command.length === 0) throw new TinyNfError('tinynf vm run needs a command after --, e.g. tinynf vm run -- node dist/src/cli/main.js devices');
    const image = prepareImage({ cacheDir: args.cache, kernelPackage: args.kernelPackage, log: (l) => process.stderr.write(`tinynf vm: ${l}\n`) });
    const nics = nicsOf(args);
    process.stderr.write(`tinynf vm: booting (TCG) with ${nics.length} ${args.variant} NIC(s): ${nics.map((_, i) => nicAddress(i)).join(' ')}\n`);
    const r = await runGuest({
      image,
      command,
      nics,
      variant: args.variant,
      iommu: args.iommu,
      bindNics: args.bind ?? null,
      hugepages: args.hugepages,
      memoryMiB: args.memory,
      timeoutMs: args.timeout * 1000,
      kernelParams: args.append === undefined ? [] : args.append.split(/\s+/).filter((s) => s !== ''),
      onConsole: args.console ? (t) => process.stderr.write(t) : undefined,
    });
    process.stdout.write(r.stdout);
    process.stderr.write(r.stderr);
    if (r.exitCode === null) {
      const tail = r.console.trim().split('\n').slice(-15).join('\n');
      throw new TinyNfError(
        `${r.timedOut ? 'the guest timed out' : 'the guest ended before the command did'}${r.initError !== null ? ` (init: ${r.initError.trim()})` : ''}; console:\n${tail}`,
      );
    }
    process.stderr.write(`tinynf vm: boot ${((r.bootMs ?? 0) / 1000).toFixed(1)} s, total ${(r.totalMs / 1000).toFixed(1)} s, exit ${r.exitCode}\n`);
    process.exitCode = r.exitCode;
  },
};

interface BenchArgs extends PrepareArgs {
  variant: NicVariant;
  seconds: number;
  testpmd: boolean;
  json: boolean;
}

const bench: CommandModule<object, BenchArgs> = {
  command: 'bench',
  describe: 'in one guest: our virtio forwarders (restricted, flexible) and dpdk-testpmd on the same NICs; rates and ratios',
  builder: (y: Argv) =>
    cacheOption(y)
      .option('variant', { choices: ['modern', 'legacy'] as const, default: 'modern' as NicVariant, describe: 'virtio 1.x or 0.9.5 NICs' })
      .option('seconds', { type: 'number', default: 8, describe: 'seconds each forwarder runs' })
      .option('testpmd', { type: 'boolean', default: true, describe: 'also run dpdk-testpmd (Debian dpdk-dev); --no-testpmd skips it' })
      .option('json', { type: 'boolean', default: false, describe: 'print one JSON array of rows as the last line' }) as unknown as Argv<BenchArgs>,
  handler: async (args: ArgumentsCamelCase<BenchArgs>) => {
    if (!(args.seconds > 0)) throw new TinyNfError('--seconds must be positive');
    const image = prepareImage({ cacheDir: args.cache, kernelPackage: args.kernelPackage, log: (l) => process.stderr.write(`tinynf vm: ${l}\n`) });
    process.stderr.write(`tinynf vm bench: booting (TCG), ${args.variant} NICs, ${args.seconds} s per forwarder\n`);
    const rows = await runVirtioBench({ image, variant: args.variant, seconds: args.seconds, testpmd: args.testpmd });
    if (args.json) {
      process.stdout.write(JSON.stringify(rows) + '\n');
      return;
    }
    for (const r of rows) {
      process.stdout.write(`${r.forwarder.padEnd(18)} ${r.variant}  ${r.mpps.toFixed(4)} Mpps  ratio ${r.ratio.toFixed(2)}  (${r.txPackets} frames in ${r.seconds.toFixed(1)} s)\n`);
    }
  },
};

export const command: CommandModule = {
  command: 'vm <action>',
  describe: 'the QEMU lab: `vm prepare`, `vm run [options] -- CMD...`, `vm bench` (docs/virtio.md)',
  builder: (y) => y.command(prepare).command(run).command(bench).demandCommand(1, 'vm prepare, vm run or vm bench'),
  handler: () => undefined,
};
