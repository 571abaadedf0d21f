// The rig over the in-memory 82599 (src/sim, inline mode): input = port 0, output k = port k + 1.
import type { Environment } from '../../../src/env/environment';
import { SimulatedEnvironment } from '../../../src/env/simulated';
import { Agent } from '../../../src/ixgbe/agent';
import { Device } from '../../../src/ixgbe/device';
import { FlexibleForwarder } from '../../../src/ixgbe/flexible';
import * as R from '../../../src/ixgbe/registers';
import { SimMachine } from '../../../src/sim/machine';
import { CollectingOutput, QueueInput } from '../../../src/sim/wire';
import type { Rig } from './scenarios';
import type { Model } from './suite';

/** Whether circular intervals [a0, a1) and [b0, b1) of a ring of `size` slots share a slot. */
export function intersects(a0: number, a1: number, b0: number, b1: number, size: number): boolean {
  const inside = (x: number, from: number, to: number) => (x - from + size) % size < (to - from + size) % size;
  if (a0 === a1 || b0 === b1) return false;
  return inside(a0, b0, b1) || inside(b0, a0, a1);
}

export interface SimRig extends Rig {
  readonly machine: SimMachine;
  readonly env: Environment;
  readonly devices: Device[];
  /** Number of register-invariant checks done. */
  checks: number;
}

/** `makeEnv` gives the environment the driver runs on (default: the simulated one; the VFIO tests pass theirs). */
export function simRig(
  model: Model,
  machine: SimMachine = new SimMachine({ ports: 3, dmaBytes: 32 * 1024 * 1024 }),
  stepUs = 20,
  makeEnv: (machine: SimMachine) => Environment = (m) => new SimulatedEnvironment(m),
): SimRig {
  const env = makeEnv(machine);
  const input = new QueueInput();
  const outputs = [new CollectingOutput(), new CollectingOutput()];
  machine.nic(0).attachInput(input);
  machine.nic(1).attachOutput(outputs[0]);
  machine.nic(2).attachOutput(outputs[1]);
  const devices = machine.addresses.slice(0, 3).map((a) => Device.init(env, a));
  const regs = devices.map((d) => new Uint32Array(d.bar0.buffer));
  let outputsUsed = 0;
  const rig: SimRig = {
    machine,
    env,
    devices,
    checks: 0,
    forwarder: (count) => {
      outputsUsed = count;
      const outs = devices.slice(1, 1 + count);
      return model === 'restricted' ? new Agent(env, devices[0], outs) : new FlexibleForwarder(env, devices[0], outs);
    },
    send: (f) => input.push(f, machine.nowNs()),
    step: () => machine.advanceUs(stepUs),
    take: (k) => outputs[k].take(),
    missed: () => machine.nic(0).stats.rxMissed,
    slowOutput: () => machine.nic(1).setTxPacing(0.2),
    check: () => {
      if (machine.violations.length > 0) {
        throw new Error(`simulator violation: ${JSON.stringify(machine.violations[0])}`);
      }
      if (model !== 'restricted') return;
      // RDT never passes a transmit head: no slot is both owned by receive and pending on an output
      const size = regs[0][R.RDLEN(0) >>> 2] / 16;
      const rdh = regs[0][R.RDH(0) >>> 2];
      const rdt = regs[0][R.RDT(0) >>> 2];
      for (let k = 0; k < outputsUsed; k++) {
        const tx = regs[k + 1];
        const tdh = tx[R.TDH(0) >>> 2];
        const tdt = tx[R.TDT(0) >>> 2];
        if (intersects(rdh, rdt, tdh, tdt, size)) {
          throw new Error(`receive owns [${rdh}, ${rdt}) while output ${k} still has [${tdh}, ${tdt}) to send`);
        }
      }
      rig.checks++;
    },
  };
  return rig;
}
