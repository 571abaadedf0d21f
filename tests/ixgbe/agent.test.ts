// The restricted agent's slot state machine, step by step, with the test playing the NIC by hand.
import { SimulatedEnvironment } from '../../src/env/simulated';
import { Agent, RING_SIZE, run } from '../../src/ixgbe/agent';
import { Device } from '../../src/ixgbe/device';
import * as R from '../../src/ixgbe/registers';
import { FAKE_ADDRESS, FakePlatform } from './helpers/fake-platform';
import { MiniNic } from './helpers/mini-nic';
import { forwardAll, frame } from './helpers/scenarios';

function setup() {
  const platform = new FakePlatform();
  const env = new SimulatedEnvironment(platform);
  const device = Device.init(env, FAKE_ADDRESS);
  const agent = new Agent(env, device, [device, device]);
  const words = new Uint32Array(platform.dma);
  const phys = (low: number, high: number) => platform.reg(high) * 2 ** 32 + (platform.reg(low) & ~3);
  const ring = (k: number) => platform.physToOffset(phys(R.TDBAL(k), R.TDBAH(k))) / 4;
  /** Play the NIC's receive: write `length` + DD|EOP into slot `slot` of ring 0. */
  const receiveInto = (slot: number, length: number) => {
    words[ring(0) + slot * 4 + 2] = length;
    words[ring(0) + slot * 4 + 3] = R.LEGACY_RX_W3_STATUS_DD | R.LEGACY_RX_W3_STATUS_EOP;
  };
  return { platform, env, device, agent, words, ring, receiveInto, phys };
}

describe('restricted agent state machine', () => {
  test('setup: outputs before input, every descriptor points at its slot buffer, head write-back enabled', () => {
    const { platform, words, ring } = setup();
    expect(platform.reg(R.RDBAL(0))).toBe(platform.reg(R.TDBAL(0))); // RX ring IS the first TX ring
    expect(platform.reg(R.TDBAL(1))).not.toBe(platform.reg(R.TDBAL(0)));
    for (const k of [0, 1]) {
      const base = ring(k);
      const first = words[base];
      for (let slot = 0; slot < RING_SIZE; slot += 111) expect(words[base + slot * 4]).toBe(first + slot * 2048);
      expect(platform.reg(R.TDWBAL(k)) & 1).toBe(1);
      expect(platform.reg(R.TDWBAL(k)) % 64).toBe(1);
    }
    expect(platform.reg(R.TDWBAL(1)) - platform.reg(R.TDWBAL(0))).toBe(64);
    expect(platform.reg(R.RDT(0))).toBe(RING_SIZE - 1);
  });

  test('transmit metadata: length or null descriptor, EOP|IFCS, RS on every 64th slot; DD cleared', () => {
    const { agent, words, ring, receiveInto } = setup();
    for (let slot = 0; slot < 64; slot++) receiveInto(slot, 100 + slot);
    const handled = agent.poll((_p, _d, length, outputs) => {
      outputs[0] = 1;
      outputs[1] = length % 2;
      return length;
    });
    expect(handled).toBe(64);
    const cmd = R.LEGACY_TX_W2_CMD_EOP | R.LEGACY_TX_W2_CMD_IFCS;
    expect(words[ring(0) + 2]).toBe((100 | cmd) >>> 0);
    expect(words[ring(1) + 2]).toBe(cmd >>> 0); // length 0: null descriptor
    expect(words[ring(1) + 1 * 4 + 2]).toBe((101 | cmd) >>> 0);
    expect(words[ring(0) + 63 * 4 + 2]).toBe((163 | cmd | R.LEGACY_TX_W2_CMD_RS) >>> 0);
    expect(words[ring(0) + 62 * 4 + 2] & R.LEGACY_TX_W2_CMD_RS).toBe(0);
    expect(words[ring(0) + 63 * 4 + 3]).toBe(0);
    expect(agent.stats.txPackets).toEqual([64, 32]);
    expect(agent.stats.droppedPackets).toBe(0);
  });

  test('tails: written every 8 packets and when the input is idle', () => {
    const { platform, agent, receiveInto } = setup();
    const tails: number[] = [];
    for (let slot = 0; slot < 13; slot++) receiveInto(slot, 60);
    let calls = 0;
    agent.poll((_p, _d, length, outputs) => {
      if (++calls === 9) tails.push(platform.reg(R.TDT(0)), platform.reg(R.TDT(1)));
      outputs[0] = 1;
      return length;
    });
    expect(tails).toEqual([8, 8]);
    expect(platform.reg(R.TDT(0))).toBe(13);
    expect(platform.reg(R.TDT(1))).toBe(13);
  });

  test('recycling: RDT := earliest written-back head - 1, at RS slots and when idle', () => {
    const { platform, agent, words, receiveInto, phys } = setup();
    const heads = platform.physToOffset(phys(R.TDWBAL(0), R.TDWBAH(0))) / 4;
    for (let slot = 0; slot < 70; slot++) receiveInto(slot, 60);
    agent.poll(forwardAll);
    // no head written back yet: RDT stays where it was
    expect(platform.reg(R.RDT(0))).toBe(RING_SIZE - 1);
    words[heads] = 64; // output 0 sent up to 64
    words[heads + 16] = 40; // output 1 lags
    agent.poll(forwardAll); // idle poll recycles
    expect(platform.reg(R.RDT(0))).toBe(39);
    words[heads + 16] = 70;
    agent.poll(forwardAll);
    expect(platform.reg(R.RDT(0))).toBe(63);
  });

  test('an invalid handler length drops the packet and is counted', () => {
    const { agent, receiveInto } = setup();
    receiveInto(0, 60);
    receiveInto(1, 60);
    agent.poll((_p, _d, _l, outputs) => {
      outputs[0] = 1;
      return 4000;
    });
    expect(agent.stats.invalidLengths).toBe(2);
    expect(agent.stats.droppedPackets).toBe(2);
    expect(agent.stats.txPackets).toEqual([0, 0]);
  });

  test('run() loops until told to stop', () => {
    const platform = new FakePlatform();
    const env = new SimulatedEnvironment(platform);
    const device = Device.init(env, FAKE_ADDRESS);
    const nic = new MiniNic(platform);
    const agent = new Agent(env, device, [device]);
    for (let i = 0; i < 100; i++) nic.pending.push(frame(i));
    let rounds = 0;
    run([agent], [forwardAll], { afterRound: () => env.sleepUs(1), until: () => ++rounds === 50 });
    expect(rounds).toBe(50);
    expect(nic.sent[0].length).toBe(100);
    expect(() => run([agent], [])).toThrow(/1 forwarders but 0 handlers/);
  });
});
