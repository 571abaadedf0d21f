// An agent in a worker thread (AgentWorker) while the in-memory 82599 runs inline in the main thread: real
// concurrency between the driver's thread and the NIC's on the shared rings, tails and head words.
import * as path from 'path';
import { SimulatedEnvironment } from '../../src/env/simulated';
import { Agent } from '../../src/ixgbe/agent';
import { Device } from '../../src/ixgbe/device';
import { AgentWorker } from '../../src/ixgbe/workers';
import { SimMachine } from '../../src/sim/machine';
import { CollectingOutput, QueueInput } from '../../src/sim/wire';
import { frame, range, verify } from './helpers/scenarios';

test('a 2-agent policer-like setup: one agent per direction, both in one worker, on the simulated NIC', async () => {
  const machine = new SimMachine({ ports: 2, dmaBytes: 16 * 1024 * 1024 });
  const env = new SimulatedEnvironment(machine);
  const [dev0, dev1] = machine.addresses.map((a) => Device.init(env, a));
  const inputs = [new QueueInput(), new QueueInput()];
  const outputs = [new CollectingOutput(), new CollectingOutput()];
  for (let p = 0; p < 2; p++) {
    machine.nic(p).attachInput(inputs[p]);
    machine.nic(p).attachOutput(outputs[p]);
  }
  const agents = [new Agent(env, dev0, [dev1]), new Agent(env, dev1, [dev0])];
  const worker = AgentWorker.start(agents, { module: path.join(__dirname, 'helpers', 'handlers.js'), export: 'swapMacs' });
  await worker.ready;
  const total = 3000;
  const t0 = machine.nowNs();
  // 1 frame per us per direction: well within what the worker keeps up with, even on a busy machine
  for (let i = 0; i < total; i++) {
    inputs[0].push(frame(i), t0 + i * 1000);
    inputs[1].push(frame(100_000 + i), t0 + i * 1000);
  }
  const deadline = Date.now() + 40_000;
  while ((outputs[1].frames.length < total || outputs[0].frames.length < total) && Date.now() < deadline) {
    // the simulated clock runs ahead of the worker by at most ~300 frames per direction
    const due = (machine.nowNs() - t0) / 1000;
    if (Math.min(outputs[0].frames.length, outputs[1].frames.length) > due - 300) machine.advanceUs(5);
    else machine.step();
    if (machine.nic(0).stats.rxMissed + machine.nic(1).stats.rxMissed > 0) break;
    // let the worker run (and report errors) without busy-waiting the simulated clock far ahead of it
    await new Promise((resolve) => setImmediate(resolve));
    if (worker.error !== null) throw worker.error;
  }
  const stats = await worker.stop();
  expect(machine.nic(0).stats.rxMissed + machine.nic(1).stats.rxMissed).toBe(0);
  expect(outputs[1].take().map((f) => verify(f, true))).toEqual(range(0, total));
  expect(outputs[0].take().map((f) => verify(f, true))).toEqual(range(100_000, 100_000 + total));
  expect(stats.map((s) => s.rxPackets)).toEqual([total, total]);
  expect(machine.violations).toEqual([]);
});
