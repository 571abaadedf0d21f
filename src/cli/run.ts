// `tinynf run <nf> (--sim [--tap LAN,WAN] [--pcap LAN.pcap,WAN.pcap] | --pci A B | --virtio A B [--stop-file F]) [--model M] [--duration S] [--json]`: run a network function.
// Progress lines go to stderr; the summary (or, with --json, one JSON object as the last line) to stdout.
import * as fs from 'fs';
import type { Argv, CommandModule } from 'yargs';
import { TinyNfError } from '../env/environment';
import { DRIVER_MODELS, parseDriverModel } from '../forwarders';
import { NETWORK_FUNCTIONS, loadConfigFile, nfDefinition } from '../nf';
import { fmtMpps } from '../runner';
import { runNf } from '../run-nf';

/** Every NF's flags, merged (each NF only accepts its own). */
function nfFlags(): Record<string, { type: 'number' | 'string' | 'boolean'; describe: string; nfs: string[] }> {
  const out: Record<string, { type: 'number' | 'string' | 'boolean'; describe: string; nfs: string[] }> = {};
  for (const def of Object.values(NETWORK_FUNCTIONS)) {
    for (const [flag, f] of Object.entries(def.flags)) {
      if (out[flag] === undefined) out[flag] = { type: f.type, describe: `${def.name}: ${f.describe}`, nfs: [] };
      out[flag].nfs.push(def.name);
    }
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

export const command: CommandModule = {
  command: 'run <nf>',
  describe: 'run a network function on two simulated (--sim) or real (--pci A B) 82599 ports',
  builder: (y: Argv) => {
    let b = y
      .positional('nf', { type: 'string', describe: `one of: ${Object.keys(NETWORK_FUNCTIONS).join(', ')}`, demandOption: true })
      .option('sim', { type: 'boolean', describe: 'two in-memory 82599 ports with generated traffic (default)' })
      .option('sim-thread', { type: 'boolean', default: false, describe: 'simulated NICs run in a worker thread, in real time (default: inline, between polls)' })
      .option('pci', { type: 'string', array: true, describe: 'two real 82599 ports: LAN WAN (e.g. 0000:03:00.0 0000:03:00.1)' })
      .option('virtio', { type: 'string', array: true, describe: 'two virtio-net ports: LAN WAN (e.g. in a QEMU guest, see docs/virtio.md)' })
      .option('stop-file', { type: 'string', describe: 'stop early once this file exists (looked at every 100 ms)' })
      .option('model', { type: 'string', default: 'restricted', describe: `driver model: ${DRIVER_MODELS.join(' | ')}` })
      .option('duration', { type: 'number', default: 10, describe: 'seconds to run' })
      .option('json', { type: 'boolean', default: false, describe: 'print one JSON object as the last line' })
      .option('config', { type: 'string', describe: 'NF configuration file (JSON object)' })
      .option('flows', { type: 'number', default: 1000, describe: 'simulated traffic: flows per port' })
      .option('offered-mpps', { type: 'string', default: 'line-rate', describe: "simulated traffic: Mpps per port, or 'line-rate'" })
      .option('frame-size', { type: 'number', default: 60, describe: 'simulated traffic: frame size without FCS' })
      .option('tap', { type: 'string', describe: 'simulated ports use these TAP devices as wires: LAN,WAN (see tinynf lab)' })
      .option('pcap', { type: 'string', describe: 'simulated ports also write the frames they transmit to pcap files: LAN.pcap,WAN.pcap' });
    for (const [flag, f] of Object.entries(nfFlags())) b = b.option(flag, { type: f.type, describe: f.describe });
    return b;
  },
  handler: (args) => {
    const name = String(args.nf);
    const def = nfDefinition(name);
    const model = parseDriverModel(String(args.model));
    if ([args.sim === true, args.pci !== undefined, args.virtio !== undefined].filter((x) => x).length > 1) {
      throw new TinyNfError('choose one of --sim, --pci and --virtio');
    }
    if (args.virtio !== undefined && (args.tap !== undefined || args.pcap !== undefined || args['sim-thread'] === true)) {
      throw new TinyNfError('--tap, --pcap and --sim-thread are for simulated ports, not --virtio');
    }
    if (args['stop-file'] !== undefined && args.virtio === undefined) throw new TinyNfError('--stop-file works with --virtio only');
    if (args['sim-thread'] === true && args.pci !== undefined) throw new TinyNfError('--sim-thread is for simulated ports, not --pci');
    const config: Record<string, unknown> = {};
    if (args.config !== undefined) {
      const file = loadConfigFile(String(args.config));
      if (typeof file !== 'object' || file === null || Array.isArray(file)) throw new TinyNfError(`config file ${args.config} must hold a JSON object`);
      Object.assign(config, file);
    }
    for (const [flag, f] of Object.entries(nfFlags())) {
      const value = (args as Record<string, unknown>)[flag];
      if (value === undefined) continue;
      if (!f.nfs.includes(name)) throw new TinyNfError(`--${flag} is not an option of ${name} (it belongs to ${f.nfs.join(', ')})`);
      config[def.flags[flag].configKey] = value;
    }
    const offered = String(args['offered-mpps']);
    const rate = offered === 'line-rate' ? 'line-rate' : Number(offered);
    if (rate !== 'line-rate' && !(rate > 0)) throw new TinyNfError(`--offered-mpps must be a positive number or 'line-rate', got '${offered}'`);
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
    const json = args.json === true;
    const result = runNf({
      definition: def,
      config,
      model,
      durationS: Number(args.duration),
      pci: args.pci as string[] | undefined,
      virtio: args.virtio as string[] | undefined,
      stop: args['stop-file'] !== undefined ? stopWhenExists(String(args['stop-file'])) : undefined,
      sim: { flows: Number(args.flows), rate, frameSize: Number(args['frame-size']), taps, pcaps, thread: args['sim-thread'] === true },
      onProgress: (p) =>
        process.stderr.write(
          `[${p.seconds.toFixed(1).padStart(5)} s] rx ${fmtMpps(p.rxMpps)} Mpps  tx ${fmtMpps(p.txMpps)} Mpps  dropped ${fmtMpps(p.droppedMpps)} Mpps` +
            `  ${Object.entries(p.nf).map(([k, v]) => `${k}=${v}`).join(' ')}\n`,
        ),
    });
    const s = result.summary;
    if (json) {
      process.stdout.write(JSON.stringify(result.json) + '\n');
    } else {
      process.stdout.write(
        `${name} (${model}) for ${s.seconds.toFixed(1)} s: rx ${s.rxPackets}, tx ${s.txPackets}, dropped ${s.droppedPackets} packets; ` +
          `${s.mpps.toFixed(3)} Mpps out, ${s.nsPerPacket.toFixed(0)} ns/packet; NIC missed ${result.nicMissed}; violations ${result.violations}\n` +
          `counters: ${JSON.stringify(s.nf)}\n`,
      );
    }
    if (result.violations > 0) process.exitCode = 1;
  },
};
