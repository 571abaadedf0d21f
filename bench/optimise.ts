// Profiling and capacity measurements of the driver (issue 6), on the inline rig (bench/capacity.ts) or the
// benchmark's own worker rig. Before/after against an earlier commit: bench/compare.ts --what driver (it runs this
// file's --child mode in a temporary worktree of that commit and in this checkout, alternately).
//   node dist/bench/optimise.js [--nf nop,policer] [--model restricted,flexible] [--duration 1] [--json]
//   node --cpu-prof dist/bench/optimise.js --profile nop [--model flexible] [--duration 5]
//   node --cpu-prof dist/bench/optimise.js --profile nop --rig worker [--rate 5] [--model flexible]
//   node dist/bench/optimise.js --child NF MODEL current DURATION      one measurement as JSON ({nsPerPacket, ...})
// The inline rig profiles the simulator too (it runs on the same thread); with `--rig worker` the NICs run in the
// simulator's worker thread and the main thread's profile (the first .cpuprofile) is the driver and the NF alone,
// plus the benchmark loop's clock reads while it waits for packets.
import { SimulatedEnvironment } from '../src/env/simulated';
import { DriverModel, DriverPorts } from '../src/app/driver-ports';
import { NETWORK_FUNCTIONS } from '../src/nf';
import { CoarseClock } from '../src/nf/lib/coarse-clock';
import { table } from './bench';
import { capacityRig, measureCapacity, runCapacity } from './capacity';
import { drive, nowNs } from './drive';
import { startSim } from './platform';
import { FLEXIBLE_OPTIONS, flowsFor, generatorFor, profileOf } from './traffic';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

export interface CapacityRow {
  nf: string;
  model: DriverModel;
  ns_per_packet: number;
  mpps_per_core: number;
}

async function main(): Promise<void> {
  const child = process.argv.indexOf('--child');
  if (child >= 0) {
    // (the third argument, 'current', is what builds that still had bench/baseline/ expect: bench/compare.ts)
    const [nf, model, , duration] = process.argv.slice(child + 1);
    const r = measureCapacity(nf, model as DriverModel, 'uni', Number(duration));
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
    const model = arg('model', 'restricted') as DriverModel;
    const rig = capacityRig(nf, model, 'uni');
    const r = runCapacity(rig, Number(arg('duration', '5')));
    process.stdout.write(`${nf} ${model}: ${r.nsPerPacket.toFixed(1)} ns/packet over ${r.packets} packets\n`);
    return;
  }
  const nfs = arg('nf', 'nop,macrewrite,policer,nat,lb').split(',').filter((n) => NETWORK_FUNCTIONS[n] !== undefined);
  const models = arg('model', 'restricted,flexible').split(',') as DriverModel[];
  const durationS = Number(arg('duration', '1'));
  const rows: CapacityRow[] = [];
  for (const nf of nfs) {
    for (const model of models) {
      const r = measureCapacity(nf, model, 'uni', durationS);
      rows.push({ nf, model, ns_per_packet: Math.round(r.nsPerPacket * 10) / 10, mpps_per_core: Math.round((1000 / r.nsPerPacket) * 100) / 100 });
    }
  }
  if (process.argv.includes('--json')) {
    process.stdout.write(JSON.stringify(rows) + '\n');
  } else {
    process.stdout.write(table(['nf', 'model', 'ns/pkt', 'Mpps/core'], rows.map((r) => [r.nf, r.model, r.ns_per_packet.toFixed(1), r.mpps_per_core.toFixed(2)])) + '\n');
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
