// The driver models against the tiny NIC stand-in of helpers/mini-nic.ts (one device, outputs = its TX queues).
import { SimulatedEnvironment } from '../../src/env/simulated';
import { Agent } from '../../src/ixgbe/agent';
import { Device } from '../../src/ixgbe/device';
import { FlexibleForwarder } from '../../src/ixgbe/flexible';
import { FAKE_ADDRESS, FakePlatform } from './helpers/fake-platform';
import { MiniNic } from './helpers/mini-nic';
import { Rig } from './helpers/scenarios';
import { Model, driverSuite } from './helpers/suite';

function miniRig(model: Model): Rig {
  const platform = new FakePlatform();
  const env = new SimulatedEnvironment(platform);
  const device = Device.init(env, FAKE_ADDRESS);
  const nic = new MiniNic(platform);
  return {
    forwarder: (outputs) => {
      const outs = Array.from({ length: outputs }, () => device);
      return model === 'restricted' ? new Agent(env, device, outs) : new FlexibleForwarder(env, device, outs);
    },
    send: (f) => nic.pending.push(f),
    step: () => env.sleepUs(1),
    take: (k) => (nic.sent[k] ?? []).splice(0),
    missed: () => nic.missed,
    slowOutput: () => (nic.txPerStep = 2),
    check: () => undefined,
  };
}

driverSuite('mini NIC', 'restricted', miniRig, { big: 100_000 });
driverSuite('mini NIC', 'flexible', miniRig, { big: 20_000 });
