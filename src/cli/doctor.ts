// `tinynf doctor [ADDR...] [--init] [--json]`: pre-flight checks before touching hardware, one line each:
//   ok   <check>: <detail>
//   FAIL <check>: <detail> -> fix: <what to do>
// Exit code 0 when every check is ok, 1 otherwise. Read only, unless --init is given (see its description).
// The checks are in src/env/doctor.ts; this file only parses options, wires the driver's Device.init for --init
// and prints.
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { DEFAULT_LINK_TIMEOUT_US, DoctorOptions, find82599Ports, formatCheck, runDoctor } from '../env/doctor';
import { Environment, TinyNfError } from '../env/environment';
import { LinuxEnvironment } from '../env/linux';
import { hardwareEnvironment } from '../env/vfio';
import { Device } from '../ixgbe/device';

interface DoctorArgs {
  addresses: string[];
  init: boolean;
  json: boolean;
  linkTimeoutMs: number;
  sysfsRoot: string;
  procRoot: string;
  modulesRoot: string;
}

export const command: CommandModule<object, DoctorArgs> = {
  command: 'doctor [addresses..]',
  describe: 'pre-flight check of this machine and the given 82599 ports (default: every 82599 found); read only',
  builder: (y: Argv) =>
    y
      .positional('addresses', { type: 'string', array: true, default: [] as string[], describe: 'PCI addresses of the ports, e.g. 0000:5e:00.0' })
      .option('init', {
        type: 'boolean',
        default: false,
        describe:
          'also initialise each port that passed its checks with the tinynf driver (Device.init: this RESETS the ' +
          'device, dropping its link for a moment) and report the link state from the LINKS register afterwards',
      })
      .option('json', { type: 'boolean', default: false, describe: 'print one JSON object {ok, checks: [{name, ok, detail, fix}]}' })
      .option('link-timeout-ms', { type: 'number', default: DEFAULT_LINK_TIMEOUT_US / 1000, hidden: true })
      .option('sysfs-root', { type: 'string', default: '/sys', hidden: true })
      .option('proc-root', { type: 'string', default: '/proc', hidden: true })
      .option('modules-root', { type: 'string', default: '/lib/modules', hidden: true })
      .example('$0 doctor', 'check the machine and every 82599 port found')
      .example('sudo $0 doctor 0000:5e:00.0 0000:5e:00.1 --init', 'also reset both ports and report their link') as unknown as Argv<DoctorArgs>,
  handler: (args: ArgumentsCamelCase<DoctorArgs>) => {
    const timeoutMs = Number(args.linkTimeoutMs);
    if (!Number.isFinite(timeoutMs) || timeoutMs < 0) {
      throw new TinyNfError(`invalid --link-timeout-ms '${args.linkTimeoutMs}': expected a number of milliseconds`);
    }
    const options: DoctorOptions = { sysfsRoot: args.sysfsRoot, procRoot: args.procRoot, modulesRoot: args.modulesRoot };
    if (args.init) {
      options.init = {
        env: initEnvironment((args.addresses ?? []).map(String), args.sysfsRoot),
        device: (env, address) => {
          Device.init(env, address);
        },
        linkTimeoutUs: timeoutMs * 1000,
      };
    }
    const report = runDoctor((args.addresses ?? []).map(String), options);
    if (args.json) {
      process.stdout.write(JSON.stringify(report) + '\n');
    } else {
      for (const c of report.checks) process.stdout.write(formatCheck(c) + '\n');
    }
    if (!report.ok) process.exitCode = 1;
  },
};

/**
 * The environment `--init` drives the ports with: VFIO when every port is on vfio-pci (as `tinynf run` does), the
 * Linux one otherwise (a mix is reported by the checks; init then uses physical addresses, as before).
 */
function initEnvironment(addresses: string[], sysfsRoot: string): Environment {
  const ports = addresses.length > 0 ? addresses : find82599Ports(sysfsRoot);
  try {
    return hardwareEnvironment(ports, sysfsRoot).env;
  } catch {
    return new LinuxEnvironment({ sysfsRoot });
  }
}
