// The policer through the real driver on the in-memory 82599, for both driver models.
import { nfDefinition } from '../../src/nf';
import { Testbed } from '../../src/app/testbed';
import { arpFrame, udpFrame } from './frames';

const LAN = 0;
const WAN = 1;

function setUp(model: 'restricted' | 'flexible', config: Record<string, number>) {
  const tb = Testbed.create({ ports: 2, model });
  const def = nfDefinition('policer');
  const nf = def.create(def.parseConfig(config), { clock: tb.env, ports: 2 });
  tb.attach(nf);
  return { tb, nf };
}

describe.each(['restricted', 'flexible'] as const)('policer (%s model)', (model) => {
  it('lets a burst through per destination, then polices, and refills at the configured rate', () => {
    // 1000 bytes burst, 100 frames of 100 B => the first 10 pass
    const { tb, nf } = setUp(model, { rate: 10_000, burst: 1000 });
    for (let i = 0; i < 100; i++) tb.send(WAN, udpFrame({ dst: '10.0.0.5', size: 100, tag: i }));
    tb.run();
    const out = tb.received(LAN);
    expect(out.length).toBe(10);
    expect(out.map((f) => new DataView(f.buffer).getUint32(42))).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(nf.counters().policed).toBe(90);
    // another destination has its own bucket
    for (let i = 0; i < 3; i++) tb.send(WAN, udpFrame({ dst: '10.0.0.6', size: 100 }));
    tb.run();
    expect(tb.received(LAN).length).toBe(3);
    // 10 000 B/s for 50 ms = 500 bytes = 5 more frames
    tb.advanceTimeNs(50_000_000);
    tb.send(LAN, udpFrame({ dst: '10.1.0.9' }));
    tb.run();
    expect(tb.received(WAN).length).toBe(1); // LAN -> WAN passes untouched
    for (let i = 0; i < 20; i++) tb.send(WAN, udpFrame({ dst: '10.0.0.5', size: 100 }));
    tb.run();
    const refilled = tb.received(LAN).length;
    expect(refilled).toBeGreaterThanOrEqual(5);
    expect(refilled).toBeLessThanOrEqual(6);
    expect(tb.violations).toEqual([]);
  });

  it('drops non-IPv4, malformed IPv4 and too-large new flows from WAN, and counts each', () => {
    const { tb, nf } = setUp(model, { burst: 200 });
    tb.send(WAN, arpFrame());
    const badIhl = udpFrame({ dst: '10.0.0.7' });
    badIhl[14] = 0x44; // IHL 4 < 5
    tb.send(WAN, badIhl);
    const badLength = udpFrame({ dst: '10.0.0.7' });
    new DataView(badLength.buffer).setUint16(16, 1400); // total length beyond the frame
    tb.send(WAN, badLength);
    tb.send(WAN, udpFrame({ dst: '10.0.0.8', size: 300 })); // larger than the burst
    tb.run();
    expect(tb.received(LAN)).toEqual([]);
    expect(nf.counters()).toMatchObject({ non_ipv4: 1, malformed: 2, new_flow_too_large: 1, passed: 0, flows: 0 });
    expect(tb.stats().forwarders[WAN]!.droppedPackets).toBe(4);
    expect(tb.violations).toEqual([]);
  });

  it('drops new destinations when the table is full, and forgets idle ones after the expiry', () => {
    const { tb, nf } = setUp(model, { capacity: 4, expiryNs: 1_000_000_000 });
    for (let d = 1; d <= 6; d++) tb.send(WAN, udpFrame({ dst: `10.0.0.${d}` }));
    tb.run();
    expect(tb.received(LAN).length).toBe(4);
    expect(nf.counters()).toMatchObject({ table_full: 2, flows: 4 });
    tb.advanceTimeNs(2_000_000_000);
    // enough packets for the clock refresh and the expiry sweep to run
    for (let i = 0; i < 70; i++) tb.send(WAN, udpFrame({ dst: `10.0.1.${i % 4}` }));
    tb.run();
    expect(tb.received(LAN).length).toBe(70);
    expect(nf.counters().flows).toBe(4);
    expect(tb.violations).toEqual([]);
  });
});
