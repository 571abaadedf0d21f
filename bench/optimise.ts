// Before/after of the issue 6 optimisation, measured in one run: the pre-optimisation forwarders (bench/baseline/,
// verbatim copies of the driver files as they were) and the current ones, on the same inline rig
// (bench/capacity.ts). Every measurement runs in a fresh child process (JIT feedback from one NF or variant must
// not leak into the next: a handler call site that has seen five NFs is megamorphic), and the variants alternate,
// so drift on a shared machine hits both alike. The median of `rounds` measurements is reported.
//   node dist/bench/optimise.js [--nf nop,policer] [--model restricted,flexible] [--duration 1] [--rounds 3] [--json]
//   node --cpu-prof dist/bench/optimise.js --profile nop [--variant baseline] [--model flexible] [--duration 5]
//   node --cpu-prof dist/bench/optimise.js --profile nop --rig worker [--rate 5] [--model flexible]
// The inline rig profiles the simulator too (it runs on the same thread); with `--rig worker` the NICs run in the
// simulator's worker thread and the main thread's profile (the first .cpuprofile) is the driver and the NF alone,
// plus the benchmark loop's clock reads while it waits for packets.
import { spawn } from 'child_process';
import { SimulatedEnvironment } from '../src/env/simulated';
import { DriverModel, DriverPorts } from '../src/app/driver-ports';
import { NETWORK_FUNCTIONS } from '../src/nf';
import { CoarseClock } from '../src/nf/lib/coarse-clock';
import { table } from './bench';
import { Variant, capacityRig, measureCapacity, runCapacity } from './capacity';
import { drive, nowNs } from './drive';
import { startSim } from './platform';
import { FLEXIBLE_OPTIONS, flowsFor, generatorFor, profileOf } from './traffic';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

export interface OptimiseRow {
  nf: string;
  model: DriverModel;
  before_ns: number;
  after_ns: number;
  speedup: number;
}

/** One measurement in a fresh process. */
export function measureInChild(nf: string, model: DriverModel, variant: Variant, durationS: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [__filename, '--child', nf, model, variant, String(durationS)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`measurement ${nf} ${model} ${variant} exited with ${code}`));
      resolve(JSON.parse(out.trim().split('\n').pop()!).nsPerPacket);
    });
  });
}

async function main(): Promise<void> {
  const child = process.argv.indexOf('--child');
  if (child >= 0) {
    const [nf, model, variant, duration] = process.argv.slice(child + 1);
    const r = measureCapacity(nf, model as DriverModel, variant as Variant, 'uni', Number(duration));
    process.stdout.write(JSON.stringify(r) + '\n');
    return;
  }
  const profile = process.argv.indexOf('--profile');
  if (profile >= 0 && arg('rig', 'inline') === 'worker') {
    const nf = process.argv[profile + 1] ?? 'nop';
    const model = arg('model', 'restricted') as DriverModel;
    const r = await profileOnWorkerRig(nf, model, Number(arg('rate', '5')), Number(arg('duration', '5')));
    process.stdout.write(`${nf} ${model} (worker rig): ${r.nsPerPacket.toFixed(1)} ns/packet over ${r.packets} packets, driver busy ${(r.busy * 100).toFixed(0)}%\n`);
    return;
  }
  if (profile >= 0) {
    const nf = process.argv[profile + 1] ?? 'nop';
    const variant = arg('variant', 'current') as Variant;
    const model = arg('model', 'restricted') as DriverModel;
    const rig = capacityRig(nf, model, variant, 'uni');
    const r = runCapacity(rig, Number(arg('duration', '5')));
    process.stdout.write(`${nf} ${model} (${variant}): ${r.nsPerPacket.toFixed(1)} ns/packet over ${r.packets} packets\n`);
    return;
  }
  const nfs = arg('nf', 'nop,macrewrite,policer,nat,lb').split(',').filter((n) => NETWORK_FUNCTIONS[n] !== undefined);
  const models = arg('model', 'restricted,flexible').split(',') as DriverModel[];
  const durationS = Number(arg('duration', '1'));
  const rounds = Number(arg('rounds', '3'));
  const rows: OptimiseRow[] = [];
  for (const nf of nfs) {
    for (const model of models) {
      const acc: Record<Variant, number[]> = { baseline: [], current: [] };
      for (let r = 0; r < rounds; r++) {
        for (const v of ['baseline', 'current'] as Variant[]) acc[v].push(await measureInChild(nf, model, v, durationS));
      }
      const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
      const before = median(acc.baseline);
      const after = median(acc.current);
      rows.push({ nf, model, before_ns: Math.round(before * 10) / 10, after_ns: Math.round(after * 10) / 10, speedup: Math.round((before / after) * 100) / 100 });
      process.stderr.write(
        `${nf} ${model}: before ${acc.baseline.map((x) => x.toFixed(1)).join('/')} ns/packet, after ${acc.current.map((x) => x.toFixed(1)).join('/')} ` +
          `(median ${(before / after).toFixed(2)}x)\n`,
      );
    }
  }
  if (process.argv.includes('--json')) {
    process.stdout.write(JSON.stringify(rows) + '\n');
  } else {
    process.stdout.write(
      table(
        ['nf', 'model', 'before ns/pkt', 'after ns/pkt', 'speedup', 'after Mpps/core'],
        rows.map((r) => [r.nf, r.model, r.before_ns.toFixed(1), r.after_ns.toFixed(1), `${r.speedup.toFixed(2)}x`, (1000 / r.after_ns).toFixed(2)]),
      ) + '\n',
    );
  }
}

/** The benchmark's own setup (NICs in the simulator's worker) at a fixed offered load, for a profile. */
async function profileOnWorkerRig(nfName: string, model: DriverModel, rateMpps: number, durationS: number): Promise<{ nsPerPacket: number; packets: number; busy: number }> {
  const def = NETWORK_FUNCTIONS[nfName];
  if (def === undefined) throw new Error(`NF ${nfName} is not registered`);
  const config = def.parseConfig({});
  const sim = startSim('worker');
  try {
    const ports = new DriverPorts(new SimulatedEnvironment(sim.platform), sim.addresses, model, FLEXIBLE_OPTIONS);
    const clock = new CoarseClock({ nowNs });
    const { forwarders, handlers } = ports.attach(def.create(config, { clock, ports: 2 }));
    for (let p = 0; p < 2; p++) sim.setTxPacing(p, 'unlimited');
    const port = profileOf(nfName).port;
    sim.setInput(port, { kind: 'generator', ...generatorFor(nfName, port, flowsFor(def, config), rateMpps) });
    drive(forwarders, handlers, { durationS: 0.5, clock, backlogUs: 20 });
    const d = drive(forwarders, handlers, { durationS, clock, backlogUs: 20 });
    return { nsPerPacket: d.busyPackets > 0 ? d.busyNs / d.busyPackets : 0, packets: d.busyPackets, busy: d.busyNs / (d.seconds * 1e9) };
  } finally {
    await sim.stop();
  }
}

if (require.main === module) void main();
