// Driver capacity on one core, with nothing else on that core's clock: the in-memory NICs run INLINE, between rounds
// of polls, and only the polls are timed. The NIC has just written the descriptors and frames on this very core
// (warm caches, as with DDIO on hardware at best), each round offers ~240 packets per input (the poll budget is 256),
// and one clock read per round is amortised over them. This is the number the target "no-op driver capacity >=
// 29.76 Mpps on one core" is about; bench/measure.ts gives the same figure with the NICs on the other core, where
// every descriptor and frame line crosses between cores.
//
// Before/after against an earlier commit: bench/compare.ts --what driver (builds that commit in a temporary worktree).
import { SimulatedEnvironment } from '../src/env/simulated';
import { DriverModel, DriverPorts } from '../src/app/driver-ports';
import type { Forwarder } from '../src/ixgbe/forwarder';
import type { PacketHandler } from '../src/ixgbe/handler';
import { NETWORK_FUNCTIONS } from '../src/nf';
import { CoarseClock } from '../src/nf/lib/coarse-clock';
import type { NetworkFunction } from '../src/nf/network-function';
import { SimMachine } from '../src/sim/machine';
import { createInput } from '../src/sim/wires/describe';
import { nowNs } from './drive';
import { FLEXIBLE_OPTIONS, flowsFor, generatorFor, profileOf } from './traffic';

export interface CapacityResult {
  nsPerPacket: number;
  packets: number;
  rounds: number;
}

export interface CapacityRig {
  readonly nf: NetworkFunction;
  readonly machine: SimMachine;
  readonly forwarders: Forwarder[];
  readonly handlers: PacketHandler[];
  readonly clock: CoarseClock;
}

/** Simulated time per round: ~238 frames of 64 bytes per input port at 10G line rate. */
export const CAPACITY_STEP_US = 16;

/** An inline machine with `nf` attached through the driver model's forwarders, traffic at line rate. */
export function capacityRig(nfName: string, model: DriverModel, direction: 'uni' | 'bi'): CapacityRig {
  const def = NETWORK_FUNCTIONS[nfName];
  if (def === undefined) throw new Error(`NF ${nfName} is not registered`);
  const config = def.parseConfig({});
  const machine = new SimMachine({ ports: 2 });
  const env = new SimulatedEnvironment(machine);
  const clock = new CoarseClock({ nowNs });
  const nf = def.create(config, { clock, ports: 2 });
  const ports = new DriverPorts(env, machine.addresses, model, FLEXIBLE_OPTIONS);
  const { forwarders, handlers } = ports.attach(nf);
  const flows = flowsFor(def, config);
  const inputs = direction === 'bi' ? [0, 1] : [profileOf(nfName).port];
  for (let p = 0; p < 2; p++) machine.setTxPacing(p, 'unlimited');
  for (const p of inputs) {
    machine.nic(p).attachInput(createInput({ kind: 'generator', ...generatorFor(nfName, p, flows, 'line-rate'), startNs: machine.nowNs() }));
  }
  const fs: Forwarder[] = [];
  const hs: PacketHandler[] = [];
  forwarders.forEach((f, i) => {
    if (f !== null && handlers[i] !== null) {
      fs.push(f);
      hs.push(handlers[i]!);
    }
  });
  return { nf, machine, forwarders: fs, handlers: hs, clock };
}

/** Run the rig for `durationS` of real time; only the polls are timed. */
export function runCapacity(rig: CapacityRig, durationS: number): CapacityResult {
  const { forwarders, handlers, machine, clock } = rig;
  const count = forwarders.length;
  const end = nowNs() + durationS * 1e9;
  let busy = 0;
  let packets = 0;
  let rounds = 0;
  for (;;) {
    machine.advanceUs(CAPACITY_STEP_US);
    const t0 = nowNs();
    clock.set(t0);
    let n = 0;
    for (let i = 0; i < count; i++) n += forwarders[i].poll(handlers[i]);
    const t1 = nowNs();
    if (n !== 0) {
      busy += t1 - t0;
      packets += n;
      rounds++;
    }
    if (t1 >= end) break;
  }
  return { nsPerPacket: packets > 0 ? busy / packets : 0, packets, rounds };
}

export function measureCapacity(nfName: string, model: DriverModel, direction: 'uni' | 'bi', durationS: number, warmupS = 0.3): CapacityResult {
  const rig = capacityRig(nfName, model, direction);
  runCapacity(rig, warmupS);
  return runCapacity(rig, durationS);
}
