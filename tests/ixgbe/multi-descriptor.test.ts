// Every driver model is robust to a frame the NIC spread over several receive descriptors (EOP only on the last:
// jumbo frames enabled, frame larger than a 2 KiB buffer, Section 7.1.6.2 / 7.1.5): it is dropped whole and
// counted, never forwarded in pieces, never an exception; the frames around it are forwarded in order.
import { SimulatedEnvironment } from '../../src/env/simulated';
import { DRIVER_MODELS, DriverPorts as Ports } from '../../src/app/driver-ports';
import { Agent } from '../../src/ixgbe/agent';
import { FlexibleForwarder } from '../../src/ixgbe/flexible';
import { NETWORK_FUNCTIONS } from '../../src/nf';
import { CoarseClock } from '../../src/nf/lib/coarse-clock';
import { SimMachine } from '../../src/sim/machine';
import * as S from '../../src/sim/registers';
import { CollectingOutput, QueueInput } from '../../src/sim/wire';

function frame(length: number, seed: number): Uint8Array {
  const f = new Uint8Array(length);
  f.set([0x02, 0, 0, 0, 0, 0x99, 0x02, 0, 0, 0, 0, 0x01, 0x08, 0x00], 0);
  for (let i = 14; i < length; i++) f[i] = (seed * 13 + i) & 0xff;
  return f;
}

describe.each(DRIVER_MODELS)('%s model: a multi-descriptor frame', (model) => {
  test('is dropped whole and counted; the frames before and after it are forwarded unchanged, in order', () => {
    const machine = new SimMachine({ ports: 2, dmaBytes: 32 * 1024 * 1024 });
    const env = new SimulatedEnvironment(machine);
    const ports = new Ports(env, machine.addresses, model);
    const nop = NETWORK_FUNCTIONS.nop;
    const { forwarders, handlers } = ports.attach(nop.create(nop.parseConfig({}), { clock: new CoarseClock(env), ports: 2 }));
    // the NIC is told to take jumbo frames (the driver never does): frames up to 9018 bytes, over several buffers
    const regs = new Uint32Array(machine.nic(0).bar0);
    regs[S.HLREG0 >>> 2] |= S.HLREG0_JUMBOEN;
    regs[S.MAXFRS >>> 2] = 9018 << S.MAXFRS_MFS_SHIFT;
    const input = new QueueInput();
    const output = new CollectingOutput();
    machine.nic(0).attachInput(input);
    machine.nic(1).attachOutput(output);
    const sent = [frame(60, 1), frame(5000, 2), frame(100, 3), frame(3000, 4), frame(4097, 5), frame(1514, 6)];
    for (const f of sent) input.push(f, machine.nowNs());
    for (let round = 0; round < 50; round++) {
      machine.advanceUs(20);
      for (let i = 0; i < forwarders.length; i++) forwarders[i]?.poll(handlers[i]!);
    }
    expect(machine.nic(0).stats.rxPackets).toBe(6); // the NIC received all six, over 1 + 3 + 1 + 2 + 3 + 1 descriptors
    const out = output.take();
    expect(out.map((f) => f.length)).toEqual([60, 100, 1514]);
    expect(out[0]).toEqual(sent[0]);
    expect(out[1]).toEqual(sent[2]);
    expect(out[2]).toEqual(sent[5]);
    const f = forwarders[0];
    if (f instanceof Agent) expect(f.multiDescriptorFrames).toBe(3);
    if (f instanceof FlexibleForwarder) expect(f.rx.multiDescriptorFrames).toBe(3);
    expect(machine.violations).toEqual([]);
  });
});
