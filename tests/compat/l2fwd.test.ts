// DPDK's l2fwd (examples/l2fwd.ts) on the shim, on two simulated ports.
import { l2fwdMainLoop, l2fwdOnSimulator, l2fwdSetup } from '../../examples/l2fwd';
import { DpdkShim } from '../../src/compat';
import { SimulatedEnvironment } from '../../src/env/simulated';
import { SimMachine } from '../../src/sim/machine';
import { CollectingOutput, QueueInput } from '../../src/sim/wire';
import { frame, range, verify } from '../ixgbe/helpers/scenarios';

test('l2fwd swaps MACs and forwards port 0 <-> 1 with zero violations', () => {
  const machine = new SimMachine({ ports: 2 });
  const env = new SimulatedEnvironment(machine);
  const inputs = [new QueueInput(), new QueueInput()];
  const outputs = [new CollectingOutput(), new CollectingOutput()];
  for (let p = 0; p < 2; p++) {
    machine.nic(p).attachInput(inputs[p]);
    machine.nic(p).attachOutput(outputs[p]);
  }
  const shim = new DpdkShim(env, machine.addresses.slice(0, 2));
  l2fwdSetup(shim);
  // about 20 frames per port per 10 us round, fewer than l2fwd's burst of 32: nothing is missed
  const t0 = machine.nowNs();
  for (let i = 0; i < 2000; i++) inputs[0].push(frame(i), t0 + i * 500);
  for (let i = 5000; i < 6000; i++) inputs[1].push(frame(i), t0 + (i - 5000) * 500);
  let rounds = 0;
  const forwarded = l2fwdMainLoop(shim, {
    until: () => (outputs[1].frames.length === 2000 && outputs[0].frames.length === 1000) || ++rounds > 100_000,
    afterRound: () => machine.advanceUs(10),
  });
  expect(outputs[1].take().map((f) => verify(f, true))).toEqual(range(0, 2000));
  expect(outputs[0].take().map((f) => verify(f, true))).toEqual(range(5000, 6000));
  expect(forwarded).toEqual([1000, 2000]);
  expect(shim.rte_eth_stats_get(0)).toEqual({ ipackets: 2000, opackets: 1000, idropped: 0 });
  expect(machine.violations).toEqual([]);
});

test('the l2fwd example runs on generated line-rate traffic', () => {
  const result = l2fwdOnSimulator(3000);
  expect(result.transmitted).toEqual([3000, 3000]);
  expect(result.forwarded).toEqual([3000, 3000]);
  expect(result.violations).toBe(0);
});
