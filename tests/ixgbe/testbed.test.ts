// The NF test harness (src/testbed.ts) on all three driver models.
import type { PacketHandler } from '../../src/ixgbe/handler';
import type { NetworkFunction } from '../../src/nf/network-function';
import { DriverModel, Testbed } from '../../src/app/testbed';
import { frame, range, verify } from './helpers/scenarios';

/** A two-port NF: swap MACs and forward 0 <-> 1; drops sequence numbers that are multiples of 10. */
function swapNf(): NetworkFunction & { seen: number } {
  let seen = 0;
  let dropped = 0;
  const handler: PacketHandler = (packet, data, length, outputs) => {
    seen++;
    if (data.getUint32(14) % 10 === 0) {
      dropped++;
      return length;
    }
    for (let i = 0; i < 6; i++) {
      const t = packet[i];
      packet[i] = packet[6 + i];
      packet[6 + i] = t;
    }
    outputs[0] = 1;
    return length;
  };
  return {
    name: 'swap',
    outputPorts: [[1], [0]],
    handlers: [handler, handler],
    counters: () => ({ seen, dropped }),
    get seen() {
      return seen;
    },
  };
}

describe.each<DriverModel>(['restricted', 'flexible', 'compat'])('Testbed, %s model', (model) => {
  test('frames sent on one port come out of the other, rewritten; drops are counted', () => {
    const tb = Testbed.create({ ports: 2, model });
    const nf = swapNf();
    tb.attach(nf);
    for (let i = 0; i < 300; i++) tb.send(0, frame(i));
    for (let i = 1000; i < 1100; i++) tb.send(1, frame(i));
    tb.run();
    const on1 = tb.received(1).map((f) => verify(f, true));
    const on0 = tb.received(0).map((f) => verify(f, true));
    expect(on1).toEqual(range(0, 300).filter((s) => s % 10 !== 0));
    expect(on0).toEqual(range(1000, 1100).filter((s) => s % 10 !== 0));
    expect(tb.received(1)).toEqual([]);
    expect(tb.violations).toEqual([]);
    const stats = tb.stats();
    expect(stats.nf).toEqual({ seen: 400, dropped: 40 });
    expect(stats.forwarders[0]!.rxPackets).toBe(300);
    expect(stats.forwarders[0]!.droppedPackets).toBe(30);
    expect(stats.forwarders[1]!.txPackets).toEqual([90]);
    expect(stats.nics[1].txPackets).toBe(270);
  });

  test('a burst of 5000 frames per port arrives at line rate and none is lost', () => {
    const tb = Testbed.create({ ports: 2, model });
    tb.attach(swapNf());
    for (let i = 0; i < 5000; i++) {
      tb.send(0, frame(i, 60));
      tb.send(1, frame(i, 60));
    }
    tb.run();
    const expected = range(0, 5000).filter((s) => s % 10 !== 0);
    expect(tb.received(1).map((f) => verify(f, true))).toEqual(expected);
    expect(tb.received(0).map((f) => verify(f, true))).toEqual(expected);
    expect(tb.stats().nics.map((n) => n.rxMissed)).toEqual([0, 0]);
  });

  test('a frame shorter than 60 bytes is padded as a sending NIC pads it; { pad: false } sends a runt', () => {
    const tb = Testbed.create({ ports: 2, model });
    tb.attach(swapNf());
    // 42 bytes, as the packet builder makes an ARP request or a small UDP datagram; sequence 7 is forwarded
    const short = frame(7).subarray(0, 42);
    tb.send(0, short);
    tb.send(0, short, { pad: false });
    tb.run();
    const out = tb.received(1);
    expect(out.map((f) => f.length)).toEqual([60]);
    expect(Array.from(out[0].subarray(42))).toEqual(new Array(18).fill(0));
    expect(Array.from(out[0].subarray(12, 42))).toEqual(Array.from(short.subarray(12)));
    // the one sent as it is was a runt: dropped by the NIC and counted (RUC), not lost without a word
    expect(tb.machine.nics[0].stats.rxUndersize).toBe(1);
  });

  test('advanceTimeNs moves the simulated clock', () => {
    const tb = Testbed.create({ model });
    const before = tb.machine.nowNs();
    tb.advanceTimeNs(5_000_000);
    expect(tb.machine.nowNs() - before).toBeGreaterThanOrEqual(5_000_000);
  });
});

test('Testbed refuses an unknown model and NFs wanting missing ports', () => {
  expect(() => Testbed.create({ model: 'fast' as DriverModel })).toThrow(/unknown driver model 'fast'/);
  const tb = Testbed.create({ ports: 2 });
  expect(() => tb.attach({ ...swapNf(), outputPorts: [[2], [0]] })).toThrow(/sends to port 2/);
  // handlers that do not match the output ports: refused, not a port left unserved
  const nf = swapNf();
  expect(() => tb.attach({ ...nf, handlers: [nf.handlers[0]] })).toThrow(/port 1 has output ports \[0\] but no handler/);
  expect(() => tb.attach({ ...nf, handlers: [nf.handlers[0], null as unknown as PacketHandler] })).toThrow(/handlers\[1\] is null/);
  expect(() => tb.attach({ ...nf, outputPorts: [[1]] })).toThrow(/port 1 has a handler but no output ports/);
  expect(() => tb.send(5, frame(0))).toThrow(/port 5 does not exist/);
});
