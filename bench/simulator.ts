// The in-memory 82599's own capacity (`tinynf bench --test simulator`): how many frames per second one simulator
// thread can receive AND transmit, with nothing else on its clock. Two simulated ports, generated 64-byte frames at
// line rate on both, forwarded by the real driver (restricted model, nop, initialised by Device.init) on the same
// thread; only the NICs' polls are timed, the driver's polls are not. A poll is what the worker thread does per loop
// iteration (SimNic.poll of every port over `scanWords` watched registers, the tails, the receive and transmit DMA
// work), at a simulated time that advances STEP_NS per iteration (so each poll has ~STEP_NS of line-rate traffic to
// receive on each port).
//
//   ns_per_frame  = simulator time / frames forwarded (each one received on one port and transmitted on the other),
//                   in the best of 20 windows a second (a shared machine's other processes inflate the others)
//   mpps_per_port = 1000 / ns_per_frame / ports: the line rate each port could be given by one simulator thread
//
// The target: 2 x 14.88 Mpps, i.e. ns_per_frame <= 33.6 with 2 ports.
//   node dist/bench/simulator.js [--duration S] [--json]          one measurement
//   node dist/bench/simulator.js --child DURATION                 (bench/compare.ts) prints {nsPerFrame, frames}
//   node dist/bench/simulator.js --pair OTHER_ROOT DURATION       (bench/compare.ts) prints {before, after, speedup}
import * as path from 'path';
import { SimulatedEnvironment } from '../src/env/simulated';
import { DriverPorts as Ports } from '../src/app/driver-ports';
import { NETWORK_FUNCTIONS } from '../src/nf';
import { CoarseClock } from '../src/nf/lib/coarse-clock';
import { SimMachine } from '../src/sim/machine';
import * as Nic from '../src/sim/nic';
import type { SimNic } from '../src/sim/nic';
import { createInput } from '../src/sim/wires/describe';
import { nowNs } from './drive';
import { generatorFor } from './traffic';

/** Simulated time per poll iteration: ~30 frames of 64 bytes per port at 10 Gb/s. */
export const STEP_NS = 2000;
/** Measurement windows per second (the row reports the best). */
export const WINDOWS_PER_S = 20;
/** Watched registers scanned per poll (the worker's default, worker.ts scanWordsPerPoll). */
export const SCAN_WORDS = 16;

export interface SimulatorRow {
  test: 'simulator';
  ports: number;
  mpps_per_port: number;
  ns_per_frame: number;
  /** Frames forwarded during the measurement. */
  frames: number;
}

type PollAll = (nics: readonly SimNic[], nowNs: number, scanWords: number) => boolean;

/** Nic.pollAll where it exists; a build before it (bench/compare.ts) polls port after port as its worker did. */
const pollAll: PollAll =
  (Nic as unknown as { pollAll?: PollAll }).pollAll ??
  ((nics, now, scan) => {
    let busy = false;
    for (let k = 0; k < nics.length; k++) if (nics[k].poll(now, scan)) busy = true;
    return busy;
  });

/** One measurement rig: two simulated ports forwarded by the restricted nop driver (see the top of this file). */
export interface SimulatorRig {
  /** Run for about `ms` of real time; the simulator's time (ns) and the frames forwarded meanwhile. */
  window(ms: number): { simNs: number; frames: number };
  /** Throws if the NICs reported any data-sheet violation. */
  checkViolations(): void;
}

export function simulatorRig(): SimulatorRig {
  const machine = new SimMachine({ ports: 2 });
  const env = new SimulatedEnvironment(machine);
  const ports = new Ports(env, machine.addresses, 'restricted');
  const def = NETWORK_FUNCTIONS.nop;
  const clock = new CoarseClock({ nowNs });
  const { forwarders, handlers } = ports.attach(def.create(def.parseConfig({}), { clock, ports: 2 }));
  const nics = machine.nics;
  let now = machine.nowNs();
  for (let p = 0; p < 2; p++) {
    machine.setTxPacing(p, 'unlimited');
    nics[p].attachInput(createInput({ kind: 'generator', ...generatorFor('nop', p, 1, 'line-rate'), startNs: now }));
  }
  const tx = (): number => nics[0].stats.txPackets + nics[1].stats.txPackets;
  return {
    window(ms: number): { simNs: number; frames: number } {
      const windowEnd = nowNs() + ms * 1e6;
      const w0 = tx();
      let simNs = 0;
      for (let round = 0; ; round++) {
        now += STEP_NS;
        const t0 = nowNs();
        pollAll(nics, now, SCAN_WORDS);
        simNs += nowNs() - t0;
        clock.set(now);
        for (let i = 0; i < forwarders.length; i++) forwarders[i]?.poll(handlers[i]!);
        if ((round & 63) === 0 && nowNs() >= windowEnd) break;
      }
      return { simNs, frames: tx() - w0 };
    },
    checkViolations(): void {
      const violations = machine.violations;
      if (violations.length > 0) throw new Error(`simulator bench: ${violations.length} violations, first: ${violations[0].rule} ${violations[0].detail}`);
    },
  };
}

export function measureSimulator(durationS: number, warmupS = 0.3): { nsPerFrame: number; frames: number } {
  const rig = simulatorRig();
  // The best of WINDOWS_PER_S windows a second: on a shared machine the thread loses the CPU now and then, and a
  // window in which it did measures the other processes; the best window is the simulator's own cost.
  const run = (seconds: number): { nsPerFrame: number; frames: number } => {
    let best = Infinity;
    let frames = 0;
    const end = nowNs() + seconds * 1e9;
    do {
      const w = rig.window(1000 / WINDOWS_PER_S);
      frames += w.frames;
      if (w.frames > 0 && w.simNs / w.frames < best) best = w.simNs / w.frames;
    } while (nowNs() < end);
    return { nsPerFrame: best === Infinity ? 0 : best, frames };
  };
  run(warmupS);
  const r = run(durationS);
  rig.checkViolations();
  return r;
}

/**
 * Before/after in ONE process (bench/compare.ts): a rig of this build and one of the build in `otherRoot` (a
 * checkout with its own dist/, this file compiled into it), windows alternated between them, so that the host's
 * slow and fast spells (another VM on the same core, which make whole processes 1.5-2x slower here) hit both
 * alike. Reports each build's median window and the median of the paired ratios (other / this: > 1 is faster here).
 */
export function pairSimulator(otherRoot: string, durationS: number): { before: number; after: number; speedup: number } {
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const other = require(path.join(otherRoot, 'dist', 'bench', 'simulator.js')) as { simulatorRig: () => SimulatorRig };
  const rigs = [other.simulatorRig(), simulatorRig()];
  const ms = 1000 / WINDOWS_PER_S / 2;
  for (let k = 0; k < 6; k++) for (const rig of rigs) rig.window(ms); // warm-up of both
  const before: number[] = [];
  const after: number[] = [];
  const ratios: number[] = [];
  const end = nowNs() + durationS * 1e9;
  do {
    const b = rigs[0].window(ms);
    const a = rigs[1].window(ms);
    if (b.frames === 0 || a.frames === 0) continue;
    before.push(b.simNs / b.frames);
    after.push(a.simNs / a.frames);
    ratios.push(b.simNs / b.frames / (a.simNs / a.frames));
  } while (nowNs() < end);
  for (const rig of rigs) rig.checkViolations();
  return { before: median(before), after: median(after), speedup: median(ratios) };
}

function median(xs: number[]): number {
  if (xs.length === 0) return 0;
  return [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
}

export function simulatorRow(durationS: number): SimulatorRow {
  const r = measureSimulator(durationS);
  const ports = 2;
  return {
    test: 'simulator',
    ports,
    mpps_per_port: r.nsPerFrame > 0 ? Math.round((1000 / r.nsPerFrame / ports) * 100) / 100 : 0,
    ns_per_frame: Math.round(r.nsPerFrame * 10) / 10,
    frames: r.frames,
  };
}

function main(): void {
  const pair = process.argv.indexOf('--pair');
  if (pair >= 0) {
    process.stdout.write(JSON.stringify(pairSimulator(process.argv[pair + 1], Number(process.argv[pair + 2] ?? '2'))) + '\n');
    return;
  }
  const child = process.argv.indexOf('--child');
  if (child >= 0) {
    process.stdout.write(JSON.stringify(measureSimulator(Number(process.argv[child + 1] ?? '1'))) + '\n');
    return;
  }
  const d = process.argv.indexOf('--duration');
  const row = simulatorRow(d >= 0 ? Number(process.argv[d + 1]) : 2);
  if (process.argv.includes('--json')) process.stdout.write(JSON.stringify(row) + '\n');
  else process.stdout.write(`simulator: ${row.ports} ports, ${row.ns_per_frame} ns per forwarded frame, ${row.mpps_per_port} Mpps per port (${row.frames} frames)\n`);
}

if (require.main === module) main();
