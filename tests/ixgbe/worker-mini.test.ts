// An agent running in a real worker thread while the (mini) NIC runs in the main thread: real concurrency on the
// shared rings, tails and head write-back words.
import * as path from 'path';
import { SimulatedEnvironment } from '../../src/env/simulated';
import { Agent } from '../../src/ixgbe/agent';
import { Device } from '../../src/ixgbe/device';
import { AgentWorker } from '../../src/ixgbe/workers';
import { FAKE_ADDRESS, FakePlatform } from './helpers/fake-platform';
import { MiniNic } from './helpers/mini-nic';
import { frame, range, verify } from './helpers/scenarios';

test('an agent in a worker thread forwards every frame, in order, with its handler', async () => {
  const platform = new FakePlatform();
  const env = new SimulatedEnvironment(platform);
  const device = Device.init(env, FAKE_ADDRESS);
  const nic = new MiniNic(platform);
  const agent = new Agent(env, device, [device]);
  const worker = AgentWorker.start([agent], {
    module: path.join(__dirname, 'helpers', 'handlers.js'),
    export: 'dropEvery',
    args: { dropEvery: 5 },
  });
  await worker.ready;
  const total = 10_000;
  const out: number[] = [];
  let next = 0;
  const deadline = Date.now() + 40_000; // generous: the machine may be busy
  while (out.length < total - total / 5 && Date.now() < deadline) {
    // keep at most ~200 frames ahead of what was transmitted, so the ring never fills even if the worker is
    // descheduled (slots come back to receive only when the worker recycles)
    for (let i = 0; i < 32 && next < total && next - (out.length + Math.floor(out.length / 4)) < 200; i++) {
      nic.pending.push(frame(next++));
    }
    nic.step();
    for (const f of (nic.sent[0] ?? []).splice(0)) out.push(verify(f));
    await new Promise((resolve) => setImmediate(resolve));
    if (worker.error !== null) throw worker.error;
  }
  const stats = await worker.stop();
  expect(nic.missed).toBe(0);
  expect(out.length).toBe(total - total / 5);
  expect(out).toEqual(range(0, total).filter((s) => s % 5 !== 0));
  expect(nic.missed).toBe(0);
  expect(stats[0].rxPackets).toBe(total);
  expect(stats[0].droppedPackets).toBe(total / 5);
  expect(stats[0].txPackets).toEqual([total - total / 5]);
});
