// The driver against the in-memory 82599 (src/sim, inline): init conformance, then the model suite.
import { SimulatedEnvironment } from '../../src/env/simulated';
import { Device } from '../../src/ixgbe/device';
import { SimMachine } from '../../src/sim/machine';
import { intersects, simRig } from './helpers/sim-rig';
import { forwardAll, pump } from './helpers/scenarios';
import { driverSuite } from './helpers/suite';

describe('init on the simulated 82599', () => {
  test('Device.init completes on every port with zero violations', () => {
    const machine = new SimMachine({ ports: 2 });
    const env = new SimulatedEnvironment(machine);
    const devices = machine.addresses.map((a) => Device.init(env, a));
    expect(devices.length).toBe(2);
    expect(machine.violations).toEqual([]);
    expect(devices[0].macAddress().length).toBe(6);
  });

  test('setting up agents and forwarding leaves zero violations; the RDT/TDH invariant was checked', () => {
    const rig = simRig('restricted');
    const f = rig.forwarder(2);
    pump(rig, f, forwardAll, 0, 5000, 64);
    expect(rig.take(0).length).toBe(5000);
    expect(rig.take(1).length).toBe(5000);
    expect(rig.checks).toBeGreaterThan(50);
    expect(rig.machine.violations).toEqual([]);
  });

  test('a dropped packet is a null descriptor: the NIC sends nothing and counts it', () => {
    const rig = simRig('restricted');
    const f = rig.forwarder(1);
    pump(rig, f, (_p, _d, length) => length, 0, 200, 20);
    expect(rig.take(0)).toEqual([]);
    expect(f.stats.droppedPackets).toBe(200);
    expect(rig.machine.nic(1).stats.txPackets).toBe(0);
    expect(rig.machine.nic(1).stats.txNullDescriptors).toBe(200);
    expect(rig.machine.violations).toEqual([]);
  });

  test('intersects() (the invariant helper) handles wrap-around', () => {
    expect(intersects(1000, 10, 5, 6, 1024)).toBe(true);
    expect(intersects(1000, 10, 10, 1000, 1024)).toBe(false);
    expect(intersects(3, 3, 0, 1023, 1024)).toBe(false);
  });
});

driverSuite('simulated 82599', 'restricted', (m) => simRig(m));
driverSuite('simulated 82599', 'flexible', (m) => simRig(m), { big: 30_000 });
