// examples/policer.ts — the main job: a per-destination policer between a LAN port and a WAN port.
//
//   node dist/examples/policer.js [--pci LAN WAN] [--duration S] [--rate BYTES_PER_S] [--burst BYTES] [--model M]
//
// With --pci it drives two real 82599 ports (root, huge pages, ports bound to uio_pci_generic: see
// docs/hardware.md). Without it, it runs on two in-memory 82599s with generated traffic: 100 flows per port at
// 10 Gb/s line rate (64-byte frames), far above the policed rate, so most WAN -> LAN packets are policed.
// It prints a progress line every second and a summary at the end; `npm start` runs it for ~10 s.
import { TinyNfError } from '../src/env/environment';
import { parseDriverModel } from '../src/app/driver-ports';
import { nfDefinition } from '../src/nf';
import { runNf } from '../src/app/run-nf';

interface Args {
  pci?: string[];
  duration: number;
  rate?: number;
  burst?: number;
  model: string;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { duration: 10, model: 'restricted' };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = (): string => {
      if (i + 1 >= argv.length) throw new TinyNfError(`${a} needs a value`);
      return argv[++i];
    };
    const number = (): number => {
      const v = Number(value());
      if (!(v > 0)) throw new TinyNfError(`${a} needs a positive number`);
      return v;
    };
    if (a === '--pci') args.pci = [value(), value()];
    else if (a === '--duration') args.duration = number();
    else if (a === '--rate') args.rate = number();
    else if (a === '--burst') args.burst = number();
    else if (a === '--model') args.model = value();
    else throw new TinyNfError(`unknown option ${a} (options: --pci LAN WAN, --duration S, --rate B/s, --burst B, --model M)`);
  }
  return args;
}

function main(): void {
  const args = parseArgs(process.argv.slice(2));
  const policer = nfDefinition('policer');
  const config: Record<string, number> = {};
  if (args.rate !== undefined) config.rate = args.rate;
  if (args.burst !== undefined) config.burst = args.burst;
  const where = args.pci !== undefined ? `82599 ports ${args.pci.join(' (LAN), ')} (WAN)` : 'two simulated 82599 ports';
  console.log(`policer on ${where}, ${args.duration} s, config ${JSON.stringify(policer.parseConfig(config))}`);

  const result = runNf({
    definition: policer,
    config,
    model: parseDriverModel(args.model),
    durationS: args.duration,
    pci: args.pci,
    sim: { flows: 100, rate: 'line-rate', frameSize: 60 },
    onProgress: (p) =>
      console.log(
        `${p.seconds.toFixed(0).padStart(3)} s  rx ${p.rxMpps.toFixed(2)} Mpps  tx ${p.txMpps.toFixed(2)} Mpps  ` +
          `dropped ${p.droppedMpps.toFixed(2)} Mpps  (policed ${p.nf.policed}, destinations ${p.nf.flows})`,
      ),
  });

  const s = result.summary;
  const c = s.nf;
  console.log('--- summary ---');
  console.log(`received     ${s.rxPackets} packets (${(s.rxPackets / s.seconds / 1e6).toFixed(2)} Mpps)`);
  console.log(`transmitted  ${s.txPackets} packets (${s.mpps.toFixed(2)} Mpps)`);
  console.log(`dropped      ${s.droppedPackets} packets: policed ${c.policed}, non-IPv4 ${c.non_ipv4}, malformed ${c.malformed}, ` +
    `new flow > burst ${c.new_flow_too_large}, table full ${c.table_full}`);
  console.log(`driver + NF  ${s.nsPerPacket.toFixed(0)} ns per packet`);
  if (args.pci === undefined) console.log(`simulated NICs: ${result.nicMissed} frames missed, ${result.violations} data-sheet violations`);
  if (result.violations > 0) process.exitCode = 1;
}

try {
  main();
} catch (e) {
  if (!(e instanceof TinyNfError)) throw e;
  console.error(`policer: ${e.message}`);
  process.exitCode = 1;
}
