// `tinynf sim --dir DIR [--ports N] [wires...]`: the in-memory 82599 as a standalone device over shared files, for
// drivers in other processes (docs/hardware.md, "Testing the hardware path without hardware"). Runs until SIGINT or
// SIGTERM (or --duration), prints each data-sheet violation as the NIC notices it, and a summary at exit (with
// --json, one JSON object as the last line). Exit code 1 if there were violations.
import type { Argv, CommandModule } from 'yargs';
import { TinyNfError } from '../env/environment';
import { STANDALONE_DMA_BASE, StandaloneDevice, StandaloneRunner, StandaloneSummary, formatViolation } from '../sim/standalone';
import { InputDescription, createInput, createOutput } from '../sim/wires/describe';

interface SimArgs {
  dir: string;
  ports: number;
  'dma-mb': number;
  'dma-base': string;
  generate?: number[];
  rate: string;
  flows: number;
  'frame-size': number;
  count?: number;
  seed: number;
  'pcap-in'?: string[];
  'pcap-timing': 'fast' | 'captured' | 'recorded';
  'pcap-loops': number;
  'pcap-out'?: string[];
  'wait-rx': boolean;
  duration?: number;
  json: boolean;
}

/** "PORT=FILE" -> [port, file], with a one-line error naming the flag. */
function portAndFile(flag: string, text: string, ports: number): [number, string] {
  const m = /^(\d+)=(.+)$/.exec(text);
  if (m === null) throw new TinyNfError(`--${flag} takes PORT=FILE (e.g. 0=in.pcap), got '${text}'`);
  const port = Number(m[1]);
  if (port >= ports) throw new TinyNfError(`--${flag} ${text}: port ${port} does not exist (--ports ${ports})`);
  return [port, m[2]];
}

function parseDmaBase(text: string): number {
  const value = /^0x[0-9a-f]+$/i.test(text) ? parseInt(text.slice(2), 16) : /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(value) || value <= 0 || value % 4096 !== 0) {
    throw new TinyNfError(`--dma-base must be a non-zero multiple of 4096 (hex 0x... or decimal), got '${text}'`);
  }
  return value;
}

function printSummary(s: StandaloneSummary): void {
  const lines = [`tinynf sim: stopped after ${s.seconds.toFixed(1)} s; ${s.violations} violations, ${s.warnings} warnings; idle ${(s.idleFraction * 100).toFixed(1)}% of ${s.iterations} polls`];
  for (const p of s.ports) {
    lines.push(
      `  ${p.address}: rx ${p.rxPackets} (missed ${p.rxMissed}), tx ${p.txPackets} (+${p.txNullDescriptors} null descriptors), ` +
        `DMA errors ${p.dmaErrors}, violations ${p.violations}, warnings ${p.warnings}`,
    );
  }
  process.stdout.write(lines.join('\n') + '\n');
}

export const command: CommandModule<object, SimArgs> = {
  command: 'sim',
  describe: 'run the in-memory 82599 as a standalone device over files (config, resource0, dma) for another driver',
  builder: (y: Argv) =>
    y
      .usage('$0 sim --dir DIR [--ports N] [--generate P..] [--pcap-in P=FILE] [--pcap-out P=FILE]')
      .option('dir', { type: 'string', demandOption: true, describe: 'directory of the device files (created); best on tmpfs, e.g. /dev/shm/tinynf' })
      .option('ports', { type: 'number', default: 2, describe: 'number of ports (0000:5e:00.0, 0000:5e:00.1, ...)' })
      .option('dma-mb', { type: 'number', default: 64, describe: 'size of the DMA window file DIR/dma in MiB' })
      .option('dma-base', { type: 'string', default: `0x${STANDALONE_DMA_BASE.toString(16)}`, describe: 'physical address of the first byte of DIR/dma' })
      .option('generate', { type: 'number', array: true, describe: 'ports whose wire carries generated traffic' })
      .option('rate', { type: 'string', default: '1', describe: "generated traffic: Mpps per port, 'line-rate' or 'unlimited'" })
      .option('flows', { type: 'number', default: 1, describe: 'generated traffic: flows per port' })
      .option('frame-size', { type: 'number', default: 60, describe: 'generated traffic: frame size without FCS' })
      .option('count', { type: 'number', describe: 'generated traffic: frames per port, then silence (default: no end)' })
      .option('seed', { type: 'number', default: 1, describe: 'generated traffic: PRNG seed' })
      .option('pcap-in', { type: 'string', array: true, describe: 'replay a pcap file on a port: PORT=FILE' })
      // 'captured' as `tinynf run` says it; 'recorded' (this command's first word for it) stays
      .option('pcap-timing', { choices: ['fast', 'captured', 'recorded'] as const, default: 'fast' as const, describe: "pcap replay: back to back ('fast') or at the file's timestamps ('captured')" })
      .option('pcap-loops', { type: 'number', default: 1, describe: 'pcap replay: passes over the file (0 = forever)' })
      .option('pcap-out', { type: 'string', array: true, describe: 'write what a port transmits to a pcap file: PORT=FILE' })
      .option('wait-rx', { type: 'boolean', default: true, describe: "hold each port's input until a driver has enabled receive on it and stopped configuring (--no-wait-rx: at once)" })
      .option('duration', { type: 'number', describe: 'stop after this many seconds (default: at SIGINT/SIGTERM)' })
      .option('json', { type: 'boolean', default: false, describe: 'print the summary as one JSON object (last line)' }) as unknown as Argv<SimArgs>,
  handler: async (args) => {
    const ports = args.ports;
    if (!Number.isInteger(ports) || ports < 1 || ports > 64) throw new TinyNfError(`--ports must be 1..64, got ${ports}`);
    const dmaMb = args['dma-mb'];
    if (!Number.isInteger(dmaMb) || dmaMb < 1 || dmaMb > 65536) throw new TinyNfError(`--dma-mb must be a whole number of MiB (1..65536), got ${dmaMb}`);
    if (args.duration !== undefined && !(args.duration > 0)) throw new TinyNfError(`--duration must be a positive number of seconds, got ${args.duration}`);
    const rateText = String(args.rate);
    const rate = rateText === 'line-rate' || rateText === 'unlimited' ? rateText : Number(rateText);
    if (typeof rate === 'number' && !(rate > 0)) throw new TinyNfError(`--rate must be a positive number of Mpps, 'line-rate' or 'unlimited', got '${rateText}'`);
    const inputs = new Map<number, InputDescription>();
    for (const p of args.generate ?? []) {
      if (!Number.isInteger(p) || p < 0 || p >= ports) throw new TinyNfError(`--generate ${p}: port ${p} does not exist (--ports ${ports})`);
      inputs.set(p, { kind: 'generator', rate, flows: args.flows, frameSize: args['frame-size'], count: args.count, seed: args.seed + p });
    }
    for (const text of args['pcap-in'] ?? []) {
      const [port, file] = portAndFile('pcap-in', text, ports);
      if (inputs.has(port)) throw new TinyNfError(`port ${port} has two inputs (--generate and --pcap-in, or --pcap-in twice)`);
      inputs.set(port, { kind: 'pcap', path: file, timing: args['pcap-timing'] === 'fast' ? 'fast' : 'recorded', loops: args['pcap-loops'] });
    }
    const outputs = (args['pcap-out'] ?? []).map((t) => portAndFile('pcap-out', t, ports));

    const device = StandaloneDevice.create({ dir: args.dir, ports, dmaBytes: dmaMb * 1024 * 1024, dmaBase: parseDmaBase(args['dma-base']) });
    let summary: StandaloneSummary;
    try {
      for (const [port, desc] of inputs) device.attachInput(port, createInput(desc), args['wait-rx']);
      for (const [port, file] of outputs) device.attachOutput(port, createOutput({ kind: 'pcap-out', path: file }));
      const runner = new StandaloneRunner(device, { durationS: args.duration });
      device.onViolation((v) => process.stdout.write(formatViolation(v, runner.startNs) + '\n'));
      const stop = () => runner.stop();
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
      process.stdout.write(
        `tinynf sim: ${ports} port${ports > 1 ? 's' : ''} in ${device.dir} (DMA window ${dmaMb} MiB at 0x${device.dmaBase.toString(16)}); ` +
          `stop with Ctrl-C or SIGTERM\n` +
          device.addresses.map((a, i) => `  ${a}  ${device.portDir(i)}  input ${inputs.get(i)?.kind ?? 'none'}\n`).join(''),
      );
      try {
        summary = await runner.run();
        // warnings by name and message (violations were printed as they happened)
        for (const w of device.warnings) process.stdout.write(formatViolation(w, runner.startNs, 'warning') + '\n');
      } finally {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
      }
    } finally {
      device.close();
    }
    printSummary(summary);
    if (args.json) process.stdout.write(JSON.stringify(summary) + '\n');
    if (summary.violations > 0) process.exitCode = 1;
  },
};
