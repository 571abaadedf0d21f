// The driver-model suite (helpers/suite.ts) with the in-memory 82599s in a worker thread (SimWorker): the NICs poll
// the rings, tails and head write-backs in real time on the other core while the driver polls here — real
// concurrency, as on hardware. Restricted agent, flexible queues and the DPDK-like shim, each: init with zero
// violations, byte-equal forwarding with the NF's rewrite, null-descriptor drops counted, two outputs in lockstep,
// ring wrap-around in order with no loss, a slow (paced) output whose overflow is counted at RX.
//
// The rig keeps the suite's step/poll rhythm meaningful under real concurrency: step() hands the frames sent so far
// to the worker and waits until its NIC has received (or counted as dropped) every one of them; take() waits until
// the output's transmit queue is empty (TDH == TDT) before fetching what the worker collected.
import { SimulatedEnvironment } from '../../src/env/simulated';
import { DpdkShim } from '../../src/compat/ethdev';
import { CompatForwarder } from '../../src/compat/forwarder';
import { Agent } from '../../src/ixgbe/agent';
import { Device } from '../../src/ixgbe/device';
import { FlexibleForwarder } from '../../src/ixgbe/flexible';
import type { Forwarder } from '../../src/ixgbe/forwarder';
import * as R from '../../src/ixgbe/registers';
import { SimWorker, Violation } from '../../src/sim/worker';
import { Rig, forwardAll, pump } from './helpers/scenarios';
import { driverSuite } from './helpers/suite';

type WorkerModel = 'restricted' | 'flexible' | 'compat';

/** Real time the driver thread leaves the NICs after each step (they run concurrently anyway). */
const STEP_US = 10;
/** Longest a step or a take waits for the worker (it only matters if the worker is starved of CPU). */
const WAIT_MS = 5000;

/** Workers started by the current test, stopped (and checked for violations) after it. */
const running: SimWorker[] = [];

afterEach(async () => {
  const sims = running.splice(0, running.length);
  const violations: Violation[] = [];
  const warnings: Violation[] = [];
  for (const sim of sims) {
    const r = await sim.stop();
    violations.push(...r.violations);
    warnings.push(...r.warnings);
  }
  // (warnings, e.g. 'simulator-stalled' when the machine is busy, are shown to explain a violation)
  if (violations.length > 0) throw new Error(`violations: ${JSON.stringify(violations)}; warnings: ${JSON.stringify(warnings)}`);
});

/** Wait (sleeping real time) until `done()` or WAIT_MS pass; returns done(). */
function waitFor(sim: SimWorker, done: () => boolean): boolean {
  const end = performance.now() + WAIT_MS;
  while (!done()) {
    if (performance.now() > end) return done();
    sim.advanceUs(5);
  }
  return true;
}

interface WorkerRig extends Rig {
  readonly sim: SimWorker;
}

/** Port 0 is the input, output k is port k + 1; every port initialised by the real driver through the worker's NICs. */
function workerRig(model: WorkerModel): WorkerRig {
  const sim = SimWorker.start({ ports: 3, dmaBytes: 32 * 1024 * 1024 });
  running.push(sim);
  const env = new SimulatedEnvironment(sim);
  let devices: Device[] = [];
  let shim: DpdkShim | null = null;
  if (model === 'compat') {
    // as src/testbed.ts: every port started, so the shim may transmit on ports 1 and 2; port 0 first, so its agent
    // owns transmit queue 0 of every port
    shim = new DpdkShim(env, sim.addresses);
    const pool = shim.rte_pktmbuf_pool_create('worker-rig', 8192, 256, 0, 2048);
    for (let p = 0; p < 3; p++) {
      shim.rte_eth_dev_configure(p, 1, 1);
      shim.rte_eth_rx_queue_setup(p, 0, 1024, 0, null, pool);
      shim.rte_eth_tx_queue_setup(p, 0, 1024, 0, null);
      shim.rte_eth_dev_start(p);
    }
  } else {
    devices = sim.addresses.map((a) => Device.init(env, a));
  }
  for (const p of [1, 2]) sim.addOutput(p, { kind: 'collect' });
  const regs = sim.addresses.map((a) => new Uint32Array(sim.bar0(a)));
  let pending: Uint8Array[] = [];
  let pushed = 0;
  const received = () => {
    const s = sim.stats(0);
    return s.rxPackets + s.rxMissed;
  };
  return {
    sim,
    forwarder: (outputs: number): Forwarder => {
      let f: Forwarder;
      if (shim !== null) {
        f = new CompatForwarder(shim, 0, [1, 2].slice(0, outputs));
      } else {
        const outs = devices.slice(1, 1 + outputs);
        f = model === 'restricted' ? new Agent(env, devices[0], outs) : new FlexibleForwarder(env, devices[0], outs);
      }
      // The worker notices register writes a window at a time: make sure it has seen the queues enabled before the
      // suite sends traffic, or the first frames would be missed (as on a link that is up before the driver is).
      sim.sync();
      return f;
    },
    send: (f) => pending.push(f),
    step: () => {
      if (pending.length > 0) {
        sim.pushFrames(0, pending);
        pushed += pending.length;
        pending = [];
      }
      if (!waitFor(sim, () => received() >= pushed)) {
        throw new Error(`the worker received ${received()} of ${pushed} frames within ${WAIT_MS} ms`);
      }
      sim.advanceUs(STEP_US);
    },
    take: (k) => {
      const tx = regs[k + 1];
      waitFor(sim, () => Atomics.load(tx, R.TDH(0) >>> 2) === Atomics.load(tx, R.TDT(0) >>> 2));
      return sim.takeCollected(k + 1);
    },
    missed: () => {
      sim.sync();
      return sim.stats(0).rxMissed;
    },
    slowOutput: () => sim.setTxPacing(1, 0.2),
    check: () => {
      if (sim.violationCount() > 0) throw new Error(`simulator violation (see stop()): ${sim.violationCount()}`);
    },
  };
}

describe.each<WorkerModel>(['restricted', 'flexible', 'compat'])('NICs in a worker thread, %s model', (model) => {
  test('init on three ports completes with zero violations; forwarding counts match the NIC counters', () => {
    const rig = workerRig(model);
    const f = rig.forwarder(2);
    pump(rig, f, forwardAll, 0, 2000, 64);
    expect(rig.take(0)).toHaveLength(2000);
    expect(rig.take(1)).toHaveLength(2000);
    rig.sim.sync();
    expect(rig.sim.violationCount()).toBe(0);
    expect(rig.sim.stats(0).rxPackets).toBe(2000);
    expect([rig.sim.stats(1).txPackets, rig.sim.stats(2).txPackets]).toEqual([2000, 2000]);
  });

  test('a dropped packet is a null descriptor: the NIC sends nothing and counts it', () => {
    const rig = workerRig(model);
    const f = rig.forwarder(1);
    pump(rig, f, (_p, _d, length) => length, 0, 300, 30);
    expect(rig.take(0)).toEqual([]);
    expect(f.stats.droppedPackets).toBe(300);
    rig.sim.sync();
    expect(rig.sim.stats(1).txPackets).toBe(0);
    // the restricted model (and the shim over it) sends a null descriptor per dropped packet; the flexible one
    // frees the buffer and sends nothing at all
    expect(rig.sim.stats(1).txNullDescriptors).toBe(model === 'flexible' ? 0 : 300);
  });
});

// Byte-equal forwarding with the rewrite, drops, lockstep, ring wrap-around (10^5 packets for the restricted
// model, fewer for the others to keep the suite short), slow output: the very tests run on the inline simulator.
for (const model of ['restricted', 'flexible', 'compat'] as const) {
  driverSuite(`NICs in a worker thread${model === 'compat' ? ', DPDK-like shim' : ''}`, model === 'compat' ? 'restricted' : model, () => workerRig(model), {
    big: model === 'restricted' ? 100_000 : 20_000,
  });
}
