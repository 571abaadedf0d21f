// `tinynf run <nf|./my-nf.ts> (--sim [--tap LAN,WAN] [--pcap LAN.pcap,WAN.pcap] | --pci A B | --virtio A B [--stop-file F])
// [--model M] [--duration S] [--json] [--fail-fast] [--config FILE] [NF flags]`: run a built-in network function or the NF module in a file.
// The NF's flags come from its configuration schema (one per top-level scalar field, camelCase -> --kebab-case).
// Progress lines go to stderr; the summary (or, with --json, one JSON object as the last line) to stdout.
import * as fs from 'fs';
import type { Argv, CommandModule } from 'yargs';
import { TinyNfError } from '../env/environment';
import { DRIVER_MODELS, parseDriverModel } from '../app/driver-ports';
import { isNfPath, resolveNf } from '../app/nf-module';
import { NETWORK_FUNCTIONS, loadConfigFile } from '../nf';
import type { NfDefinition, NfFlag } from '../nf/config';
import { fmtMpps } from '../app/run-loop';
import { parseSimThreads, runNf } from '../app/run-nf';
import { MetricsServer, parseMetricsAddress } from '../app/metrics';
import { snakeCounters } from '../ixgbe/statistics';

/** The options of `tinynf run` itself: an NF's configuration field may not take one of these flag names. */
export const RUN_OPTIONS = ['sim', 'sim-thread', 'sim-threads', 'pci', 'virtio', 'stop-file', 'model', 'duration', 'json', 'fail-fast', 'config', 'flows', 'offered-mpps', 'frame-size', 'protocol', 'order', 'tap', 'pcap', 'pcap-in', 'pcap-timing', 'capture', 'metrics', 'help'];

/** `PORT=FILE` values of a repeatable flag -> files by port (ports 0 and 1). */
function portFiles(flag: string, values: unknown): (string | undefined)[] | undefined {
  if (values === undefined) return undefined;
  const out: (string | undefined)[] = [];
  for (const v of values as unknown[]) {
    const m = /^([0-9]+)=(.+)$/.exec(String(v));
    if (m === null || Number(m[1]) > 1) throw new TinyNfError(`--${flag} takes PORT=FILE with PORT 0 (LAN) or 1 (WAN), got '${String(v)}'`);
    if (out[Number(m[1])] !== undefined) throw new TinyNfError(`--${flag}: port ${m[1]} given twice`);
    out[Number(m[1])] = m[2];
  }
  return out;
}

let commandLine: readonly string[] = [];

/** main() hands the command line over before parsing, so the builder can load the NF named and add its flags. */
export function setCommandLine(argv: readonly string[]): void {
  commandLine = argv;
}

/** The <nf> argument of a `run` command line, if there is one. */
function nfArgument(): string | undefined {
  const i = commandLine.indexOf('run');
  if (i < 0) return undefined;
  return commandLine.slice(i + 1).find((a) => !a.startsWith('-'));
}

/** Flags of the NFs the command line may run: the named one, or (for --help without one) every built-in's. */
function nfFlags(def: NfDefinition | undefined): Record<string, NfFlag & { nfs: string[] }> {
  const out: Record<string, NfFlag & { nfs: string[] }> = {};
  // per flag, each text and the NFs that give it
  const texts = new Map<string, Map<string, string[]>>();
  const defs = def !== undefined ? [def] : Object.values(NETWORK_FUNCTIONS);
  for (const d of defs) {
    for (const [flag, f] of Object.entries(d.flags)) {
      if (RUN_OPTIONS.includes(flag)) throw new TinyNfError(`NF ${d.name}: its config field '${f.configKey}' would be --${flag}, an option of tinynf run: rename the field`);
      if (out[flag] === undefined) {
        out[flag] = { ...f, nfs: [] };
        texts.set(flag, new Map());
      }
      out[flag].nfs.push(d.name);
      const byText = texts.get(flag)!;
      byText.set(f.describe, [...(byText.get(f.describe) ?? []), d.name]);
    }
  }
  // a flag several NFs have (--capacity, --expiry-ns) says what it is to each: "policer, bridge: ...; nat: ..."
  for (const [flag, byText] of texts) {
    out[flag].describe = [...byText].map(([text, nfs]) => `${nfs.join(', ')}: ${text}`).join('; ');
  }
  return out;
}

/**
 * A stop() for the run loop: true once `file` exists. The loop asks every ~1 ms; the file is looked at every 100 ms
 * at most (a stat may be slow: in the QEMU lab it is a 9p round trip of milliseconds, which would eat the loop).
 */
function stopWhenExists(file: string): () => boolean {
  let next = 0;
  return () => {
    const now = performance.now();
    if (now < next) return false;
    next = now + 100;
    return fs.existsSync(file);
  };
}

/** The NF the command line names, loaded once (a module file is required once per process anyway). */
let loaded: { spec: string; def: NfDefinition } | null = null;
function nfFor(spec: string): NfDefinition {
  if (loaded === null || loaded.spec !== spec) loaded = { spec, def: resolveNf(spec) };
  return loaded.def;
}

export const command: CommandModule = {
  command: 'run <nf>',
  describe: 'run a network function (built-in, or the NF module in a .ts/.js file) on two simulated (--sim) or real (--pci A B) 82599 ports',
  builder: (y: Argv) => {
    const spec = nfArgument();
    // a module file: its flags; a built-in: every built-in's (so a flag of another NF gets a clear error, not "unknown")
    const def = spec !== undefined && isNfPath(spec) ? nfFor(spec) : undefined;
    let b = y
      .positional('nf', { type: 'string', describe: `a built-in NF (${Object.keys(NETWORK_FUNCTIONS).join(', ')}) or an NF module file (./my-nf.ts, ./my-nf.js)`, demandOption: true })
      .option('sim', { type: 'boolean', describe: 'two in-memory 82599 ports with generated traffic (default)' })
      .option('sim-thread', { type: 'boolean', default: false, describe: 'simulated NICs run in a worker thread, in real time (default: inline, between polls)' })
      .option('sim-threads', { type: 'number', describe: "simulated NICs in this many worker threads: 1, or 2 (a port per thread; needs a core per thread besides the driver's); implies --sim-thread" })
      .option('pci', { type: 'string', array: true, describe: 'two real 82599 ports: LAN WAN (e.g. 0000:03:00.0 0000:03:00.1)' })
      .option('virtio', { type: 'string', array: true, describe: 'two virtio-net ports: LAN WAN (e.g. in a QEMU guest, see docs/virtio.md)' })
      .option('stop-file', { type: 'string', describe: 'stop early once this file exists (looked at every 100 ms)' })
      .option('model', { type: 'string', default: 'restricted', describe: `driver model: ${DRIVER_MODELS.join(' | ')}` })
      .option('duration', { type: 'number', default: 10, describe: 'seconds to run' })
      .option('json', { type: 'boolean', default: false, describe: 'print one JSON object as the last line' })
      .option('fail-fast', { type: 'boolean', default: false, describe: 'stop at the first handler fault (default: drop the packet, count it in handler_errors, report the first)' })
      .option('config', { type: 'string', describe: 'NF configuration file (JSON object)' })
      .option('flows', { type: 'number', describe: 'simulated traffic: flows per port (default: chosen by the NF, else 1000)' })
      .option('offered-mpps', { type: 'string', describe: "simulated traffic: Mpps per port, or 'line-rate' (default)" })
      .option('frame-size', { type: 'number', describe: 'simulated traffic: frame size without FCS, 60..1514 (default 60)' })
      .option('protocol', { type: 'string', describe: "simulated traffic: 'udp' (default) or 'tcp'" })
      .option('order', { type: 'string', describe: "simulated traffic: flows 'round-robin' (default) or 'random'" })
      .option('tap', { type: 'string', describe: 'simulated ports use these TAP devices as wires: LAN,WAN (see tinynf lab)' })
      .option('pcap', { type: 'string', describe: 'simulated ports also write the frames they transmit to pcap files: LAN.pcap,WAN.pcap' })
      .option('pcap-in', { type: 'string', array: true, describe: 'replay a pcap file into a simulated port: PORT=FILE (repeatable; replaces generated traffic)' })
      .option('pcap-timing', { type: 'string', default: 'fast', describe: "replay timing: 'fast' (as fast as the port takes frames) or 'captured' (the file's timestamps)" })
      .option('metrics', { type: 'string', describe: 'serve Prometheus metrics at http://[HOST:]PORT/metrics (HOST default 127.0.0.1; PORT 0: any free port)' })
      .option('capture', { type: 'string', array: true, describe: 'write what a simulated port receives and transmits to a pcap file: PORT=FILE (repeatable)' });
    for (const [flag, f] of Object.entries(nfFlags(def))) b = b.option(flag, { type: f.type, describe: f.describe });
    return b;
  },
  handler: (args) => {
    const spec = String(args.nf);
    const def = nfFor(spec);
    const name = def.name;
    const model = parseDriverModel(String(args.model));
    if ([args.sim === true, args.pci !== undefined, args.virtio !== undefined].filter((x) => x).length > 1) {
      throw new TinyNfError('choose one of --sim, --pci and --virtio');
    }
    if (args.virtio !== undefined && (args.tap !== undefined || args.pcap !== undefined || args['sim-thread'] === true)) {
      throw new TinyNfError('--tap, --pcap and --sim-thread are for simulated ports, not --virtio');
    }
    if (args['stop-file'] !== undefined && args.virtio === undefined) throw new TinyNfError('--stop-file works with --virtio only');
    const simThreads = args['sim-threads'] === undefined ? undefined : parseSimThreads(args['sim-threads']);
    const onThread = args['sim-thread'] === true || simThreads !== undefined;
    if (simThreads !== undefined && (args.virtio !== undefined || args.pci !== undefined)) throw new TinyNfError('--sim-threads is for simulated ports, not --pci or --virtio');
    if (args['sim-thread'] === true && args.pci !== undefined) throw new TinyNfError('--sim-thread is for simulated ports, not --pci');
    const config: Record<string, unknown> = {};
    if (args.config !== undefined) {
      const file = loadConfigFile(String(args.config));
      if (typeof file !== 'object' || file === null || Array.isArray(file)) throw new TinyNfError(`config file ${args.config} must hold a JSON object`);
      Object.assign(config, file);
    }
    for (const [flag, f] of Object.entries(nfFlags(isNfPath(spec) ? def : undefined))) {
      const value = (args as Record<string, unknown>)[flag];
      if (value === undefined) continue;
      if (!f.nfs.includes(name)) throw new TinyNfError(`--${flag} is not an option of ${name} (it belongs to ${f.nfs.join(', ')})`);
      config[def.flags[flag].configKey] = value;
    }
    const offered = args['offered-mpps'] === undefined ? undefined : String(args['offered-mpps']);
    const rate = offered === undefined ? undefined : offered === 'line-rate' ? 'line-rate' : Number(offered);
    if (rate !== undefined && rate !== 'line-rate' && !(rate > 0)) throw new TinyNfError(`--offered-mpps must be a positive number or 'line-rate', got '${offered}'`);
    let taps: [string, string] | undefined;
    if (args.tap !== undefined) {
      const t = String(args.tap).split(',');
      if (t.length !== 2 || t.some((x) => x.length === 0)) throw new TinyNfError(`--tap takes two TAP names: LAN,WAN (got '${args.tap}')`);
      taps = [t[0], t[1]];
    }
    let pcaps: [string, string] | undefined;
    if (args.pcap !== undefined) {
      const p = String(args.pcap).split(',');
      if (p.length !== 2 || p.some((x) => x.length === 0)) throw new TinyNfError(`--pcap takes two file names: LAN.pcap,WAN.pcap (got '${args.pcap}')`);
      if (args.pci !== undefined) throw new TinyNfError('--pcap is for simulated ports, not --pci');
      pcaps = [p[0], p[1]];
    }
    const pcapIn = portFiles('pcap-in', args['pcap-in']);
    const captures = portFiles('capture', args.capture);
    // 'recorded' is what `tinynf sim` called it first: taken here too, so that one word works in both commands
    const typed = String(args['pcap-timing']);
    const timing = typed === 'recorded' ? 'captured' : typed;
    if (timing !== 'fast' && timing !== 'captured') throw new TinyNfError(`--pcap-timing is 'fast' or 'captured', got '${typed}'`);
    if ((pcapIn !== undefined || captures !== undefined) && args.pci !== undefined) throw new TinyNfError('--pcap-in and --capture are for simulated ports, not --pci');
    for (const f of pcapIn ?? []) if (f !== undefined && !fs.existsSync(f)) throw new TinyNfError(`--pcap-in: no such file ${f}`);
    const protocol = args.protocol === undefined ? undefined : String(args.protocol);
    if (protocol !== undefined && protocol !== 'udp' && protocol !== 'tcp') throw new TinyNfError(`--protocol is 'udp' or 'tcp', got '${protocol}'`);
    const order = args.order === undefined ? undefined : String(args.order);
    if (order !== undefined && order !== 'round-robin' && order !== 'random') throw new TinyNfError(`--order is 'round-robin' or 'random', got '${order}'`);
    const json = args.json === true;
    let metrics: MetricsServer | undefined;
    if (args.metrics !== undefined) {
      const { host, port } = parseMetricsAddress(String(args.metrics));
      metrics = MetricsServer.start(host, port);
      metrics.publish({ nf: name, model, seconds: 0, rxPackets: 0, txPackets: 0, droppedPackets: 0, handlerErrors: 0, nic: [], counters: {} });
      process.stderr.write(`metrics at http://${host.includes(':') ? `[${host}]` : host}:${metrics.port}/metrics\n`);
    }
    let result: ReturnType<typeof runNf>;
    try {
    result = runNf({
      metrics,
      definition: def,
      config,
      model,
      failFast: args['fail-fast'] === true,
      durationS: Number(args.duration),
      pci: args.pci as string[] | undefined,
      virtio: args.virtio as string[] | undefined,
      stop: args['stop-file'] !== undefined ? stopWhenExists(String(args['stop-file'])) : undefined,
      sim: {
        flows: args.flows === undefined ? undefined : Number(args.flows),
        rate,
        frameSize: args['frame-size'] === undefined ? undefined : Number(args['frame-size']),
        protocol: protocol as 'udp' | 'tcp' | undefined,
        order: order as 'round-robin' | 'random' | undefined,
        taps,
        pcaps,
        pcapIn,
        pcapTiming: timing,
        captures,
        thread: onThread,
        threads: simThreads,
      },
      onProgress: (p) =>
        process.stderr.write(
          `[${p.seconds.toFixed(1).padStart(5)} s] rx ${fmtMpps(p.rxMpps)} Mpps  tx ${fmtMpps(p.txMpps)} Mpps  dropped ${fmtMpps(p.droppedMpps)} Mpps` +
            (p.handlerErrors !== 0 ? `  handler_errors=${p.handlerErrors}` : '') +
            (p.nic ?? []).map((c, i) => `  port${i}: missed ${c.rxMissed + c.rxNoBufferDrops} crc ${c.rxCrcErrors} len ${c.rxLengthErrors + c.rxUndersize + c.rxOversize}`).join('') +
            `  ${Object.entries(p.nf).map(([k, v]) => `${k}=${v}`).join(' ')}\n`,
        ),
    });
    } finally {
      metrics?.stop();
    }
    const s = result.summary;
    if (json) {
      process.stdout.write(JSON.stringify(result.json) + '\n');
    } else {
      process.stdout.write(
        `${name} (${model}) for ${s.seconds.toFixed(1)} s: rx ${s.rxPackets}, tx ${s.txPackets}, dropped ${s.droppedPackets} packets; ` +
          `${s.mpps.toFixed(3)} Mpps out, ${s.nsPerPacket.toFixed(0)} ns/packet; handler errors ${s.handlerErrors}; NIC missed ${result.nicMissed}; violations ${result.violations}\n` +
          `counters: ${JSON.stringify(s.nf)}\n` +
          result.nic.map((c, i) => `port ${i} NIC: ${Object.entries(snakeCounters(c)).map(([k, v]) => `${k}=${v}`).join(' ')}\n`).join('') +
          (result.json.replies as Record<string, number>[]).map(({ port, ...r }) => `port ${port} replies: ${Object.entries(r).map(([k, v]) => `${k}=${v}`).join(' ')}\n`).join(''),
      );
    }
    if (result.violations > 0) process.exitCode = 1;
  },
};
