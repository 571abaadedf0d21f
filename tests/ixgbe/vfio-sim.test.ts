// The 82599 driver on the VFIO environment, against the in-memory 82599 behind a model of the kernel's VFIO and
// IOMMU (tests/env/helpers/vfio-sim-kernel.ts): config space and BAR0 through the device fd, every DMA address an
// IOVA the environment chose and mapped with VFIO_IOMMU_MAP_DMA. The NIC reaches only what the IOMMU maps, at the
// IOVA: DMA memory's own buffers (plain SharedArrayBuffers standing in for huge pages) are not in its address space
// otherwise, so a physical or virtual address given to it would be a DMA error (a violation).
import * as R from '../../src/ixgbe/registers';
import { Device } from '../../src/ixgbe/device';
import { Agent } from '../../src/ixgbe/agent';
import { DEFAULT_IOVA_BASE, VfioEnvironment } from '../../src/env/vfio';
import { SimMachine } from '../../src/sim/machine';
import { CollectingOutput, QueueInput } from '../../src/sim/wire';
import { VfioSim, vfioSim } from '../env/helpers/vfio-sim';
import { simRig } from './helpers/sim-rig';
import { forwardAll, frame, pump } from './helpers/scenarios';
import { Model, driverSuite } from './helpers/suite';

const IOVA_BASE = 0x40_0000_0000; // 256 GiB: far from the simulator's own window (8 GiB), high halves non-zero
const sims: VfioSim[] = [];
afterAll(() => sims.forEach((s) => s.cleanup()));

function vfioRig(model: Model) {
  const machine = new SimMachine({ ports: 3, dmaBytes: 8 * 1024 * 1024 });
  const sim = vfioSim(machine);
  sims.push(sim);
  return simRig(model, machine, 20, () => sim.env(IOVA_BASE));
}

function inIova(phys: number, env: VfioEnvironment): boolean {
  return env.dmaMappings.some((m) => m.mapped && phys >= m.iova && phys < m.iova + m.size);
}

describe('82599 driver on VFIO (simulated NIC behind a model of the IOMMU)', () => {
  test('init and forwarding: 0 violations, 0 DMA errors, every ring base an IOVA', () => {
    const rig = vfioRig('restricted');
    const env = rig.env as VfioEnvironment;
    expect(env.name).toBe('vfio');
    const f = rig.forwarder(2);
    pump(rig, f, forwardAll, 0, 5000, 64);
    expect(rig.take(0).length).toBe(5000);
    expect(rig.take(1).length).toBe(5000);
    expect(rig.machine.violations).toEqual([]);
    expect(rig.machine.totals().dmaErrors).toBe(0);
    // what the device was told: ring bases (RDBAL/RDBAH, TDBAL/TDBAH) are IOVAs, not the simulator's window
    for (const d of rig.devices) {
      const regs = new Uint32Array(d.bar0.buffer);
      for (const [lo, hi] of [
        [R.RDBAL(0), R.RDBAH(0)],
        [R.TDBAL(0), R.TDBAH(0)],
      ]) {
        const base = regs[lo >>> 2] + regs[hi >>> 2] * 2 ** 32;
        if (base !== 0) expect(inIova(base, env)).toBe(true);
      }
    }
    expect(env.dmaMappings.every((m) => m.iova >= IOVA_BASE)).toBe(true);
    expect(env.dmaMappings.length).toBeGreaterThanOrEqual(4);
    env.close();
  });

  test('DMA buffers taken out of the IOMMU: the NIC faults, no frame is delivered, nothing else is written', () => {
    const machine = new SimMachine({ ports: 2, dmaBytes: 8 * 1024 * 1024 });
    const sim = vfioSim(machine);
    sims.push(sim);
    const env = sim.env(IOVA_BASE);
    const input = new QueueInput();
    const output = new CollectingOutput();
    machine.nic(0).attachInput(input);
    machine.nic(1).attachOutput(output);
    const devices = machine.addresses.map((a) => Device.init(env, a));
    const agent = new Agent(env, devices[0], [devices[1]]);
    // the agent's packet buffers are its first allocation; rings and heads follow (agent.ts createAgent)
    const buffers = env.dmaMappings[0];
    // the rest of "RAM" the NIC could address without an IOMMU: the simulator's window past its staging area (up
    // to its DMA memory's end: the NICs' receive engine areas follow, the simulator's own state)
    const rest = new Uint8Array(machine.memory.window).subarray(machine.memory.reserved, machine.memory.allocationEnd);
    rest.fill(0x5a);
    const before = Buffer.from(rest);
    env.unmapDma(bufferOf(env, buffers.iova));
    for (let i = 0; i < 50; i++) input.push(frame(i), machine.nowNs());
    for (let i = 0; i < 200; i++) {
      agent.poll(forwardAll);
      machine.advanceUs(20);
    }
    expect(output.take()).toEqual([]);
    expect(machine.nic(0).stats.dmaErrors).toBeGreaterThan(0);
    expect(machine.violations.map((v) => v.rule)).toContain('buffer-address-invalid');
    expect(machine.violations.every((v) => v.rule === 'buffer-address-invalid')).toBe(true);
    // the simulator's own memory (what a device without an IOMMU could have reached) is untouched
    expect(Buffer.compare(before, Buffer.from(rest))).toBe(0);
    // and the unmapped buffers themselves hold no frame data
    expect(new Uint8Array(bufferOf(env, buffers.iova)).every((b) => b === 0)).toBe(true);
    env.close();
  });
});

/** The DMA buffer the environment mapped at `iova` (its first allocation is at IOVA_BASE). */
function bufferOf(env: VfioEnvironment, iova: number): SharedArrayBuffer {
  const b = (env as unknown as { mappings: { iova: number; buffer: SharedArrayBuffer }[] }).mappings.find((m) => m.iova === iova);
  if (b === undefined) throw new Error(`no mapping at 0x${iova.toString(16)}`);
  return b.buffer;
}

void DEFAULT_IOVA_BASE;
driverSuite('VFIO over the simulated 82599', 'restricted', vfioRig, { big: 20_000 });
driverSuite('VFIO over the simulated 82599', 'flexible', vfioRig, { big: 10_000 });
