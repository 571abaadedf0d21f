// The bridge through the real driver on the in-memory 82599, for both driver models: learning, flooding, static
// entries, expiry, a full table, no hairpin, ARP + ping between two hosts, and what a bridge must not forward.
import { TinyNfError } from '../../src/env/environment';
import { nfDefinition } from '../../src/nf';
import type { NetworkFunction } from '../../src/nf/network-function';
import { Testbed } from '../../src/app/testbed';
import { arpPacket, etherFrame, icmpFrame, macBytes, macText } from './frames';

const A = '02:00:00:00:00:0a';
const B = '02:00:00:00:00:0b';
const C = '02:00:00:00:00:0c';
const S = '02:00:00:00:00:5e';
const BROADCAST = 'ff:ff:ff:ff:ff:ff';

function setUp(model: 'restricted' | 'flexible', config: unknown, ports = 2): { tb: Testbed; nf: NetworkFunction } {
  const tb = Testbed.create({ ports, model });
  const def = nfDefinition('bridge');
  const nf = def.create(def.parseConfig(config), { clock: tb.env, ports });
  tb.attach(nf);
  return { tb, nf };
}

/** Per port, the tags of the frames that left it (every frame checked to be unchanged apart from the tag). */
function outputs(tb: Testbed): number[][] {
  const out: number[][] = [];
  for (let p = 0; p < tb.ports; p++) out.push(tb.received(p).map((f) => new DataView(f.buffer, f.byteOffset).getUint32(14)));
  return out;
}

describe.each(['restricted', 'flexible'] as const)('bridge (%s model)', (model) => {
  it('floods unknown and broadcast destinations to every other port, and learns where sources are', () => {
    const { tb, nf } = setUp(model, {}, 3);
    tb.send(0, etherFrame(B, A, 1)); // B unknown: flooded to 1 and 2; A learned on 0
    tb.run();
    expect(outputs(tb)).toEqual([[], [1], [1]]);
    tb.send(1, etherFrame(A, B, 2)); // A known on 0; B learned on 1
    tb.run();
    expect(outputs(tb)).toEqual([[2], [], []]);
    tb.send(0, etherFrame(B, A, 3)); // now B is known
    tb.run();
    expect(outputs(tb)).toEqual([[], [3], []]);
    tb.send(2, etherFrame(BROADCAST, C, 4)); // broadcast: everywhere but the input
    tb.send(2, etherFrame('01:00:5e:00:00:fb', C, 5)); // IPv4 multicast (mDNS group): same
    tb.run();
    expect(outputs(tb)).toEqual([[4, 5], [4, 5], []]);
    tb.send(0, etherFrame(C, A, 6)); // C learned from its broadcast
    tb.run();
    expect(outputs(tb)).toEqual([[], [], [6]]);
    // the frames themselves pass unchanged
    tb.send(1, etherFrame(C, B, 7, 200));
    tb.run();
    const [frame] = tb.received(2);
    expect(Array.from(frame)).toEqual(Array.from(etherFrame(C, B, 7, 200)));
    expect(nf.counters()).toMatchObject({ unknown_flooded: 1, multicast_flooded: 2, forwarded: 4, learned: 3, entries: 3, hairpin: 0 });
    expect(tb.violations).toEqual([]);
  });

  it('lets two hosts in one subnet ARP and ping each other (ARP broadcast flooded, replies learned)', () => {
    const { tb, nf } = setUp(model, {});
    // host A (10.0.0.2) on port 0 asks for host B (10.0.0.3) on port 1
    tb.send(0, arpPacket({ op: 'request', senderMac: A, senderIp: '10.0.0.2', targetIp: '10.0.0.3' }));
    tb.run();
    const [request] = tb.received(1);
    expect(macText(request.subarray(0, 6))).toBe(BROADCAST);
    expect(tb.received(0)).toEqual([]);
    tb.send(1, arpPacket({ op: 'reply', senderMac: B, senderIp: '10.0.0.3', targetMac: A, targetIp: '10.0.0.2' }));
    tb.run();
    const [reply] = tb.received(0);
    expect(macText(reply.subarray(0, 6))).toBe(A);
    expect(reply[21]).toBe(2);
    // the echo request and reply, addressed by MAC now
    const echo = icmpFrame({ src: '10.0.0.2', dst: '10.0.0.3', seq: 1 });
    echo.set(macBytes(B), 0);
    echo.set(macBytes(A), 6);
    tb.send(0, echo);
    tb.run();
    expect(tb.received(1).map((f) => Array.from(f))).toEqual([Array.from(echo)]);
    const answer = icmpFrame({ src: '10.0.0.3', dst: '10.0.0.2', type: 0, seq: 1 });
    answer.set(macBytes(A), 0);
    answer.set(macBytes(B), 6);
    tb.send(1, answer);
    tb.run();
    expect(tb.received(0).map((f) => Array.from(f))).toEqual([Array.from(answer)]);
    expect(nf.counters()).toMatchObject({ multicast_flooded: 1, forwarded: 3, unknown_flooded: 0, learned: 2 });
    expect(tb.stats().forwarders.every((f) => f!.droppedPackets === 0)).toBe(true);
    expect(tb.violations).toEqual([]);
  });

  it('sends to static entries before anything is learned and does not let learning override them', () => {
    const { tb, nf } = setUp(model, { static: [{ mac: S, port: 2 }], expiryNs: 1_000_000_000 }, 3);
    tb.send(0, etherFrame(S, A, 1));
    tb.run();
    expect(outputs(tb)).toEqual([[], [], [1]]);
    // S appears on port 1 (spoofed or moved): forwarded, but the static entry stays
    tb.send(1, etherFrame(A, S, 2));
    tb.run();
    expect(outputs(tb)).toEqual([[2], [], []]);
    tb.send(0, etherFrame(S, A, 3));
    tb.run();
    expect(outputs(tb)).toEqual([[], [], [3]]);
    // from its own port, S teaches nothing either and its frames are forwarded
    tb.send(2, etherFrame(A, S, 4));
    tb.run();
    expect(outputs(tb)).toEqual([[4], [], []]);
    // static entries never expire
    tb.advanceTimeNs(5_000_000_000);
    tb.send(1, etherFrame(S, B, 5));
    tb.run();
    expect(outputs(tb)).toEqual([[], [], [5]]);
    expect(nf.counters()).toMatchObject({ static_conflict: 1, static_entries: 1, learned: 2 }); // A and B learned, S not
    expect(tb.violations).toEqual([]);
  });

  it('forgets MAC addresses idle longer than the expiry, and keeps those in use', () => {
    const { tb, nf } = setUp(model, { capacity: 8, expiryNs: 1_000_000_000 }); // 16 slots: a few sweeps cover them
    tb.send(0, etherFrame(B, A, 1));
    tb.send(1, etherFrame(A, B, 2));
    tb.run();
    expect(outputs(tb)).toEqual([[2], [1]]);
    tb.advanceTimeNs(600_000_000);
    tb.send(0, etherFrame(B, A, 3)); // A refreshed; B (last seen 0.6 s ago) still known
    tb.run();
    expect(outputs(tb)).toEqual([[], [3]]);
    tb.advanceTimeNs(600_000_000); // B idle 1.2 s: expired; A idle 0.6 s: alive
    tb.send(0, etherFrame(B, A, 4)); // B unknown again: flooded (on two ports, "flooded" is port 1)
    tb.send(1, etherFrame(A, C, 5)); // A still known on port 0
    tb.run();
    expect(outputs(tb)).toEqual([[5], [4]]);
    expect(nf.counters()).toMatchObject({ unknown_flooded: 2, forwarded: 3 });
    // the sweep frees the table: after a long idle time and enough packets, only the fresh entry remains
    tb.advanceTimeNs(5_000_000_000);
    for (let i = 0; i < 200; i++) tb.send(0, etherFrame(A, C, 100 + i)); // C moves to port 0, A is unknown again
    tb.run();
    expect(outputs(tb)[1]).toHaveLength(200);
    expect(nf.counters()).toMatchObject({ entries: 1, unknown_flooded: 202, hairpin: 0 });
    expect(tb.violations).toEqual([]);
  });

  it('counts MACs it cannot learn when the table is full, floods frames to them, and learns again after expiry', () => {
    const { tb, nf } = setUp(model, { capacity: 4, expiryNs: 1_000_000_000 });
    const macs = [1, 2, 3, 4, 5, 6].map((i) => `02:00:00:00:01:0${i}`);
    for (let i = 0; i < 6; i++) tb.send(0, etherFrame(BROADCAST, macs[i], i));
    tb.run();
    expect(outputs(tb)).toEqual([[], [0, 1, 2, 3, 4, 5]]); // every frame forwarded
    expect(nf.counters()).toMatchObject({ learned: 4, table_full: 2, entries: 4 });
    for (let i = 0; i < 6; i++) tb.send(1, etherFrame(macs[i], B, 10 + i));
    tb.run();
    // B could not be learned either; frames to learned MACs go to port 0, to the others too (flooded)
    expect(outputs(tb)).toEqual([[10, 11, 12, 13, 14, 15], []]);
    expect(nf.counters()).toMatchObject({ forwarded: 4, unknown_flooded: 2, table_full: 8 });
    tb.advanceTimeNs(2_000_000_000);
    tb.send(1, etherFrame(A, B, 20)); // expired entries make room (swept when an insert finds the table full)
    tb.send(0, etherFrame(B, A, 21));
    tb.run();
    expect(outputs(tb)).toEqual([[20], [21]]);
    expect(nf.counters()).toMatchObject({ forwarded: 5, table_full: 8 });
    expect(tb.violations).toEqual([]);
  });

  it('drops (and counts) frames whose destination is on the port they came from', () => {
    const { tb, nf } = setUp(model, {});
    tb.send(0, etherFrame(BROADCAST, A, 1));
    tb.send(0, etherFrame(BROADCAST, C, 2));
    tb.run();
    outputs(tb);
    tb.send(0, etherFrame(C, A, 3)); // both on port 0: the segment delivers it itself
    tb.send(0, etherFrame(A, C, 4));
    tb.run();
    expect(outputs(tb)).toEqual([[], []]);
    expect(nf.counters().hairpin).toBe(2);
    expect(tb.stats().forwarders[0]!.droppedPackets).toBe(2);
    expect(tb.violations).toEqual([]);
  });

  it('drops frames with a group or zero source and IEEE 802.1D reserved destinations, learning nothing from them', () => {
    const { tb, nf } = setUp(model, {});
    tb.send(0, etherFrame(B, '03:00:00:00:00:01', 1)); // group source
    tb.send(0, etherFrame(B, '00:00:00:00:00:00', 2)); // zero source
    tb.send(0, etherFrame('01:80:c2:00:00:00', A, 3)); // STP BPDU group
    tb.send(0, etherFrame('01:80:c2:00:00:0e', A, 4)); // LLDP nearest bridge
    tb.send(0, etherFrame('01:80:c2:00:00:10', A, 5)); // not reserved (all-bridges group of 802.1D-1990): flooded
    tb.run();
    expect(outputs(tb)).toEqual([[], [5]]);
    expect(nf.counters()).toMatchObject({ invalid_src: 2, link_local: 2, multicast_flooded: 1, learned: 1 });
    expect(tb.stats().forwarders[0]!.droppedPackets).toBe(4);
    expect(tb.violations).toEqual([]);
  });

  it('floods to four other ports on a five-port bridge (the most outputs of an agent)', () => {
    const { tb, nf } = setUp(model, {}, 5);
    tb.send(3, etherFrame(BROADCAST, C, 1));
    tb.run();
    expect(outputs(tb)).toEqual([[1], [1], [1], [], [1]]);
    tb.send(4, etherFrame(C, A, 2));
    tb.run(); // (ports are polled in order: B's frame must come after A was learned)
    tb.send(1, etherFrame(A, B, 3));
    tb.run();
    expect(outputs(tb)).toEqual([[], [], [], [2], [3]]);
    expect(nf.counters()).toMatchObject({ multicast_flooded: 1, forwarded: 2 });
    expect(tb.violations).toEqual([]);
  });
});

describe('bridge configuration', () => {
  const def = nfDefinition('bridge');
  it('takes the defaults and validates fields with one clear error', () => {
    expect(def.parseConfig(undefined)).toEqual({ capacity: 65_536, expiryNs: 300e9, static: [] });
    expect(def.capacity!(def.parseConfig({ capacity: 100 }))).toBe(100);
    const bad: [unknown, RegExp][] = [
      [{ static: [{ mac: '02:00:00:00:00', port: 1 }] }, /static\[0\]\.mac must be a MAC address/],
      [{ static: [{ mac: 'zz:00:00:00:00:01', port: 1 }] }, /static\[0\]\.mac must be a MAC address/],
      [{ static: [{ mac: '01:00:5e:00:00:01', port: 1 }] }, /unicast/],
      [{ static: [{ mac: A, port: 1 }, { mac: A.toUpperCase(), port: 0 }] }, /appears twice/],
      [{ static: [{ mac: A, port: -1 }] }, /static\[0\]\.port/],
      [{ static: [{ mac: A, port: 1, vlan: 3 }] }, /static\[0\]: unknown field 'vlan'/],
      [{ static: {} }, /static: not a list/],
      [{ capacity: 0 }, /capacity: must be an integer/],
      [{ expiryNs: -5 }, /expiryNs: must be a positive number/],
      [{ ageing: 5 }, /unknown field 'ageing'/],
      [[], /not an object/],
    ];
    for (const [config, message] of bad) expect(() => def.parseConfig(config)).toThrow(message);
    for (const [config] of bad) expect(() => def.parseConfig(config)).toThrow(TinyNfError);
  });

  it('refuses static entries on ports it does not have, and port counts it cannot flood to', () => {
    const tb = Testbed.create({ ports: 2 });
    expect(() => def.create(def.parseConfig({ static: [{ mac: A, port: 3 }] }), { clock: tb.env, ports: 2 })).toThrow(/static\[0\]\.port must be a port 0\.\.1/);
    expect(() => def.create(def.parseConfig({}), { clock: tb.env, ports: 6 })).toThrow(/2 to 5 ports/);
    expect(() => def.create(def.parseConfig({}), { clock: tb.env, ports: 1 })).toThrow(TinyNfError);
  });
});
