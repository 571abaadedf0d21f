// `tinynf bench [--quick] [--json] [--nf N..] [--model M..] [--test T..] [--duration S] [--ndr] [--sim-threads 1|2]
// [--save FILE]`: the benchmarks of issue 6 (bench/bench.ts) on two simulated 82599 ports whose NICs run in a worker
// thread (or one worker thread each). Progress goes to stderr; the
// report (or, with --json, one JSON array of rows as the last line) to stdout.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { Argv, CommandModule } from 'yargs';
import { TinyNfError } from '../env/environment';
import { DRIVER_MODELS, parseDriverModel } from '../app/driver-ports';
import { parseSimThreads } from '../app/run-nf';
import { TEST_KINDS, formatReport, runBench } from '../../bench/bench';
import type { TestKind } from '../../bench/measure';
import { formatAttacks, runAttacks } from '../../bench/attacks';
import { SimulatorRow, simulatorRow } from '../../bench/simulator';
import { NETWORK_FUNCTIONS } from '../nf';

/** `--test simulator`: the in-memory NIC's own capacity (bench/simulator.ts), one row. */
const SIMULATOR_TEST = 'simulator';

export const command: CommandModule = {
  command: 'bench',
  describe: 'benchmark the NFs on the three driver models (simulated ports, NICs on the other core)',
  builder: (y: Argv) =>
    y
      .option('quick', { type: 'boolean', default: false, describe: 'short runs (the whole suite in under a minute)' })
      .option('json', { type: 'boolean', default: false, describe: 'print the rows as one JSON array on the last line' })
      .option('nf', { type: 'string', array: true, describe: 'only these NFs (default: every registered NF)' })
      .option('model', { type: 'string', array: true, describe: `only these driver models: ${DRIVER_MODELS.join(' | ')}` })
      .option('test', { type: 'string', array: true, describe: `only these tests: ${[...TEST_KINDS, SIMULATOR_TEST].join(' | ')}` })
      .option('duration', { type: 'number', describe: 'seconds measured per row after the warm-up (default 2, --quick 0.2)' })
      .option('ndr', { type: 'boolean', default: false, describe: 'also search the no-drop rate (<= 0.1% loss) of throughput rows (slow)' })
      .option('sim-threads', { type: 'number', default: 1, describe: "simulator threads: 1, or 2 (a port per thread; needs a core per thread besides the driver's)" })
      .option('save', { type: 'string', describe: 'also write the rows, notes, date and machine to this JSON file' })
      .option('attacks', { type: 'boolean', default: false, describe: 'only the flow-state attack rows (bench/attacks.ts): cost under attack / ordinary traffic' }),
  handler: async (args) => {
    if (args.attacks === true) {
      const rows = runAttacks(args.quick === true, (line) => process.stderr.write(line + '\n'));
      process.stdout.write(args.json === true ? JSON.stringify(rows) + '\n' : formatAttacks(rows));
      return;
    }
    const models = (args.model as string[] | undefined)?.map(parseDriverModel);
    const asked = args.test as string[] | undefined;
    for (const t of asked ?? []) {
      if (!(TEST_KINDS as readonly string[]).includes(t) && t !== SIMULATOR_TEST) {
        throw new TinyNfError(`unknown test '${t}': use ${[...TEST_KINDS, SIMULATOR_TEST].join(', ')}`);
      }
    }
    const withSimulator = asked === undefined || asked.includes(SIMULATOR_TEST);
    const tests = asked?.filter((t): t is TestKind => t !== SIMULATOR_TEST);
    const duration = args.duration as number | undefined;
    if (duration !== undefined && !(duration > 0 && duration <= 600)) {
      throw new TinyNfError(`--duration must be a number of seconds between 0 and 600, got ${duration}`);
    }
    const simThreads = parseSimThreads(args['sim-threads']);
    const registered = Object.keys(NETWORK_FUNCTIONS);
    for (const n of (args.nf as string[] | undefined) ?? []) {
      if (!registered.includes(n)) throw new TinyNfError(`unknown NF '${n}': use ${registered.join(', ')}`);
    }
    const save = args.save as string | undefined;
    // refused before the runs, not after minutes of them
    if (save !== undefined) checkWritable(save);
    let simulator: SimulatorRow | null = null;
    if (withSimulator) {
      process.stderr.write('simulator: its own capacity (2 ports, one thread)\n');
      simulator = simulatorRow(duration ?? (args.quick === true ? 0.5 : 2));
    }
    const result = tests !== undefined && tests.length === 0 ? { rows: [], notes: [], date: new Date().toISOString() } : await runBench({
      quick: args.quick === true,
      nfs: args.nf as string[] | undefined,
      models,
      tests,
      durationS: duration,
      ndr: args.ndr === true,
      simThreads,
      log: (line) => process.stderr.write(line + '\n'),
    });
    if (result.rows.length === 0 && simulator === null) throw new TinyNfError(`nothing to benchmark${result.notes.length > 0 ? `: ${result.notes.join('; ')}` : ''}`);
    if (save !== undefined) {
      try {
        fs.writeFileSync(save, JSON.stringify({ ...result, simulator, machine: machine() }, null, 1) + '\n');
      } catch (e) {
        throw new TinyNfError(`cannot write ${save}: ${(e as Error).message}`);
      }
    }
    if (args.json === true) {
      for (const n of result.notes) process.stderr.write(`note: ${n}\n`);
      process.stdout.write(JSON.stringify(simulator === null ? result.rows : [...result.rows, simulator]) + '\n');
    } else {
      if (result.rows.length > 0) process.stdout.write(formatReport(result));
      if (simulator !== null) {
        process.stdout.write(
          `simulator: ${simulator.ns_per_frame} ns per forwarded frame (received on one port, sent on the other) on one thread: ` +
            `${simulator.mpps_per_port} Mpps per port with ${simulator.ports} ports (target 14.88, line rate of 64-byte frames)\n`,
        );
      }
    }
    if (result.rows.some((r) => r.violations > 0)) process.exitCode = 1;
  },
};

/** What the results were measured on (docs/benchmarks.md records it with them). */
function machine(): { cpus: number; cpu: string; node: string; platform: string } {
  const cpus = os.cpus();
  return { cpus: cpus.length, cpu: cpus[0]?.model ?? 'unknown', node: process.version, platform: `${os.platform()} ${os.release()}` };
}

/** --save FILE: its directory must exist and be writable, and FILE, if it exists, be a writable file. */
function checkWritable(file: string): void {
  try {
    if (fs.existsSync(file)) {
      if (!fs.statSync(file).isFile()) throw new Error('not a file');
      fs.accessSync(file, fs.constants.W_OK);
    } else {
      fs.accessSync(path.dirname(path.resolve(file)), fs.constants.W_OK);
    }
  } catch (e) {
    throw new TinyNfError(`cannot write ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}
