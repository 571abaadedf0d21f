// The stateful firewall through the real driver on the in-memory 82599, for both driver models.
import { TinyNfError } from '../../src/env/environment';
import { nfDefinition } from '../../src/nf';
import { keyedHash } from '../../src/nf/lib/flow-table';
import type { NetworkFunction } from '../../src/nf/network-function';
import { Testbed } from '../../src/app/testbed';
import { arpFrame, fixIpv4Checksum, icmpFrame, ipv4, ipv4Frame, tcpFrame, udpChecksummedFrame, udpFrame } from './frames';

const LAN = 0;
const WAN = 1;
const HOST = '10.0.0.2';
const SERVER = '10.1.0.2';

function setUp(model: 'restricted' | 'flexible', config: Record<string, unknown> = {}): { tb: Testbed; nf: NetworkFunction } {
  const tb = Testbed.create({ ports: 2, model });
  const def = nfDefinition('firewall');
  const nf = def.create(def.parseConfig(config), { clock: tb.env, ports: 2 });
  tb.attach(nf);
  return { tb, nf };
}

const arr = (f: Uint8Array): number[] => Array.from(f);
/** A frame as a transmitter puts it on the wire: padded with zeros to the 60-byte minimum. */
function padded(f: Uint8Array): Uint8Array {
  if (f.length >= 60) return f;
  const out = new Uint8Array(60);
  out.set(f);
  return out;
}

describe.each(['restricted', 'flexible'] as const)('firewall (%s model)', (model) => {
  it('lets LAN flows out unchanged and exactly their replies (reversed 5-tuple) back in', () => {
    const { tb, nf } = setUp(model);
    const out = [
      tcpFrame({ src: HOST, dst: SERVER, sport: 40000, dport: 80, flags: 0x02 }),
      udpChecksummedFrame({ src: HOST, dst: SERVER, sport: 5353, dport: 53 }),
      icmpFrame({ src: HOST, dst: SERVER, id: 0x4242, seq: 1 }),
      ipv4Frame({ src: HOST, dst: SERVER, proto: 47, payload: new Uint8Array(30).fill(7) }), // GRE: addresses only
      icmpFrame({ src: HOST, dst: SERVER, type: 3, code: 3 }), // an error from LAN: passes, opens nothing
    ];
    for (const f of out) tb.send(LAN, f);
    tb.run();
    expect(tb.received(WAN).map(arr)).toEqual(out.map(arr)); // unchanged
    expect(nf.counters()).toMatchObject({ passed_out: 5, flows: 4 });

    const replies = [
      tcpFrame({ src: SERVER, dst: HOST, sport: 80, dport: 40000, flags: 0x12 }),
      udpChecksummedFrame({ src: SERVER, dst: HOST, sport: 53, dport: 5353 }),
      icmpFrame({ src: SERVER, dst: HOST, type: 0, id: 0x4242, seq: 1 }),
      ipv4Frame({ src: SERVER, dst: HOST, proto: 47, payload: new Uint8Array(30).fill(9) }),
    ];
    const unsolicited = [
      tcpFrame({ src: SERVER, dst: HOST, sport: 80, dport: 40001 }), // other LAN port
      tcpFrame({ src: SERVER, dst: HOST, sport: 81, dport: 40000 }), // other remote port
      tcpFrame({ src: '10.1.0.3', dst: HOST, sport: 80, dport: 40000 }), // other remote host
      tcpFrame({ src: SERVER, dst: '10.0.0.3', sport: 80, dport: 40000 }), // other LAN host
      udpChecksummedFrame({ src: SERVER, dst: HOST, sport: 80, dport: 40000 }), // the TCP flow's ports over UDP
      tcpFrame({ src: SERVER, dst: HOST, sport: 40000, dport: 80 }), // the same 5-tuple, not reversed
      icmpFrame({ src: SERVER, dst: HOST, type: 0, id: 0x4243 }), // echo reply, other identifier
      icmpFrame({ src: SERVER, dst: HOST, type: 8, id: 0x4242 }), // echo request from WAN
      icmpFrame({ src: SERVER, dst: HOST, type: 3, code: 1 }), // ICMP errors from WAN are not let in
      ipv4Frame({ src: '10.1.0.3', dst: HOST, proto: 47, payload: new Uint8Array(30) }), // GRE from another host
      ipv4Frame({ src: SERVER, dst: HOST, proto: 4, payload: new Uint8Array(30) }), // another protocol
    ];
    for (const f of [...replies, ...unsolicited]) tb.send(WAN, padded(f));
    tb.run();
    expect(tb.received(LAN).map(arr)).toEqual(replies.map((f) => arr(padded(f))));
    expect(nf.counters()).toMatchObject({ passed_in: replies.length, no_flow: unsolicited.length, flows: 4 });
    expect(tb.stats().forwarders[WAN]!.droppedPackets).toBe(unsolicited.length);
    expect(tb.violations).toEqual([]);
  });

  it('forgets idle flows after the expiry; traffic either way keeps a flow open', () => {
    const { tb, nf } = setUp(model, { expiryNs: 1_000_000_000 });
    const a = udpChecksummedFrame({ src: HOST, dst: SERVER, sport: 1001, dport: 53 });
    const b = udpChecksummedFrame({ src: HOST, dst: SERVER, sport: 1002, dport: 53 });
    const replyA = udpChecksummedFrame({ src: SERVER, dst: HOST, sport: 53, dport: 1001 });
    const replyB = udpChecksummedFrame({ src: SERVER, dst: HOST, sport: 53, dport: 1002 });
    tb.send(LAN, a);
    tb.send(LAN, b);
    tb.run();
    expect(tb.received(WAN).length).toBe(2);
    tb.advanceTimeNs(600_000_000);
    tb.send(WAN, replyA); // keeps A
    tb.run();
    expect(tb.received(LAN).length).toBe(1);
    tb.advanceTimeNs(600_000_000); // B idle 1.2 s, A 0.6 s
    tb.send(WAN, replyB);
    tb.send(WAN, replyA);
    tb.run();
    expect(tb.received(LAN).map(arr)).toEqual([arr(replyA)]);
    expect(nf.counters()).toMatchObject({ passed_in: 2, no_flow: 1 });
    // B sends again from LAN: open again
    tb.send(LAN, b);
    tb.send(WAN, replyB);
    tb.run();
    expect(tb.received(LAN).length).toBe(1);
    expect(tb.violations).toEqual([]);
  });

  it('drops new LAN flows when the table is full (counted); open flows and their replies keep passing', () => {
    const { tb, nf } = setUp(model, { capacity: 4, expiryNs: 1_000_000_000 });
    for (let p = 1; p <= 6; p++) tb.send(LAN, tcpFrame({ src: HOST, dst: SERVER, sport: 3000 + p, dport: 443 }));
    tb.run();
    expect(tb.received(WAN).length).toBe(4);
    expect(nf.counters()).toMatchObject({ passed_out: 4, table_full: 2, flows: 4 });
    expect(tb.stats().forwarders[LAN]!.droppedPackets).toBe(2);
    // which four got in is up to the keyed hash: find them by their replies
    for (let p = 1; p <= 6; p++) tb.send(WAN, tcpFrame({ src: SERVER, dst: HOST, sport: 443, dport: 3000 + p }));
    tb.run();
    const open = tb.received(LAN).map((f) => (f[36] << 8) | f[37]);
    expect(open.length).toBe(4);
    for (const port of open) tb.send(LAN, tcpFrame({ src: HOST, dst: SERVER, sport: port, dport: 443 }));
    tb.run();
    expect(tb.received(WAN).length).toBe(4);
    expect(nf.counters()).toMatchObject({ table_full: 2, no_flow: 2 });
    tb.advanceTimeNs(2_000_000_000);
    for (let p = 11; p <= 14; p++) tb.send(LAN, tcpFrame({ src: HOST, dst: SERVER, sport: 3000 + p, dport: 443 }));
    tb.run();
    expect(tb.received(WAN).length).toBe(4);
    expect(nf.counters().table_full).toBe(2);
    expect(tb.violations).toEqual([]);
  });

  it('drops malformed, fragmented and non-IPv4 input both ways, each counted once', () => {
    const { tb, nf } = setUp(model);
    const sent: [number, Uint8Array, string][] = [];
    const both = (f: () => Uint8Array, counter: string) => {
      sent.push([LAN, f(), counter]);
      sent.push([WAN, f(), counter]);
    };
    both(arpFrame, 'non_ipv4');
    both(() => {
      const f = udpFrame({ dst: SERVER });
      f[12] = 0x86;
      f[13] = 0xdd;
      return f;
    }, 'non_ipv4');
    both(() => {
      const f = udpChecksummedFrame({ src: HOST, dst: SERVER, sport: 1, dport: 2 });
      f[14] = 0x43; // IHL 3
      return fixIpv4Checksum(f);
    }, 'malformed');
    both(() => {
      const f = udpChecksummedFrame({ src: HOST, dst: SERVER, sport: 1, dport: 2 });
      new DataView(f.buffer).setUint16(16, 1000); // beyond the frame
      return fixIpv4Checksum(f);
    }, 'malformed');
    both(() => {
      const f = tcpFrame({ src: HOST, dst: SERVER, sport: 1, dport: 2 });
      new DataView(f.buffer).setUint16(16, 20 + 12); // TCP header cut at 12 bytes
      return fixIpv4Checksum(f);
    }, 'malformed');
    both(() => ipv4Frame({ src: HOST, dst: SERVER, proto: 17, payload: new Uint8Array(5) }), 'malformed');
    both(() => ipv4Frame({ src: HOST, dst: SERVER, proto: 1, payload: new Uint8Array(6) }), 'malformed');
    both(() => ipv4Frame({ src: HOST, dst: SERVER, proto: 6, payload: new Uint8Array(40), flagsFragment: 0x2000 }), 'fragment');
    both(() => ipv4Frame({ src: HOST, dst: SERVER, proto: 6, payload: new Uint8Array(40), flagsFragment: 0x00b9 }), 'fragment');
    for (const [port, f] of sent) tb.send(port, padded(f));
    tb.run();
    expect(tb.received(LAN)).toEqual([]);
    expect(tb.received(WAN)).toEqual([]);
    const expected: Record<string, number> = {};
    for (const [, , k] of sent) expected[k] = (expected[k] ?? 0) + 1;
    const counters = nf.counters();
    for (const [k, v] of Object.entries(expected)) expect([k, counters[k]]).toEqual([k, v]);
    expect(counters).toMatchObject({ passed_out: 0, passed_in: 0, no_flow: 0, flows: 0 });
    const stats = tb.stats();
    expect(stats.forwarders[LAN]!.droppedPackets + stats.forwarders[WAN]!.droppedPackets).toBe(sent.length);
    expect(tb.violations).toEqual([]);
  });
});

describe('firewall under adversarial traffic', () => {
  it('a WAN flood (spoofed sources, every port of an open flow but the right one) creates no state', () => {
    const { tb, nf } = setUp('restricted');
    tb.send(LAN, tcpFrame({ src: HOST, dst: SERVER, sport: 5555, dport: 443 }));
    tb.run();
    tb.received(WAN);
    let flood = 0;
    for (let i = 0; i < 600; i++) {
      const src = i % 3 === 0 ? SERVER : `10.1.${i & 0xff}.${(i >> 8) + 3}`;
      const sport = i % 3 === 0 ? 444 + (i % 7) : 443;
      tb.send(WAN, tcpFrame({ src, dst: HOST, sport, dport: 5000 + i }));
      flood++;
    }
    tb.run();
    expect(tb.received(LAN)).toEqual([]);
    expect(nf.counters()).toMatchObject({ no_flow: flood, flows: 1 });
    tb.send(WAN, tcpFrame({ src: SERVER, dst: HOST, sport: 443, dport: 5555 }));
    tb.run();
    expect(tb.received(LAN).length).toBe(1);
    expect(tb.violations).toEqual([]);
  });

  it('LAN flows crafted to collide under an unkeyed hash all open (keyed table)', () => {
    const { tb, nf } = setUp('restricted', { capacity: 1024 });
    const unkeyed = new Uint32Array(4);
    const mask = 2047; // slots for capacity 1024
    const dst = ipv4(SERVER);
    const sources: number[] = [];
    for (let s = 0x0a000000; sources.length < 300; s++) {
      if ((keyedHash(s, dst, ((9000 << 16) | 80) >>> 0, 6, unkeyed) & mask) === 0) sources.push(s);
    }
    const ip = (s: number) => [s >>> 24, (s >>> 16) & 0xff, (s >>> 8) & 0xff, s & 0xff].join('.');
    for (const s of sources) tb.send(LAN, tcpFrame({ src: ip(s), dst: SERVER, sport: 9000, dport: 80 }));
    tb.run();
    expect(tb.received(WAN).length).toBe(300);
    for (const s of sources) tb.send(WAN, tcpFrame({ src: SERVER, dst: ip(s), sport: 80, dport: 9000 }));
    tb.run();
    expect(tb.received(LAN).length).toBe(300);
    expect(nf.counters()).toMatchObject({ passed_out: 300, passed_in: 300, table_full: 0, flows: 300 });
    expect(tb.violations).toEqual([]);
  });
});

describe('firewall under exhaustion, with and without per-source quotas', () => {
  const ip = (s: number) => [s >>> 24, (s >>> 16) & 0xff, (s >>> 8) & 0xff, s & 0xff].join('.');
  it('one LAN host filling the table: established flows keep passing, new ones are refused (counted), and recover after expiry', () => {
    const { tb, nf } = setUp('restricted', { capacity: 64, expiryNs: 1_000_000_000 });
    tb.send(LAN, tcpFrame({ src: '10.0.0.9', dst: SERVER, sport: 1000, dport: 443 })); // a victim's flow
    for (let p = 0; p < 100; p++) tb.send(LAN, udpFrame({ src: HOST, dst: SERVER, sport: 2000 + p, dport: 53 }));
    tb.run();
    expect(nf.counters()).toMatchObject({ passed_out: 64, table_full: 37, flows: 64 });
    tb.received(WAN);
    tb.send(LAN, tcpFrame({ src: '10.0.0.9', dst: SERVER, sport: 1000, dport: 443 })); // established: passes
    tb.send(LAN, tcpFrame({ src: '10.0.0.10', dst: SERVER, sport: 1000, dport: 443 })); // new: refused
    tb.send(WAN, tcpFrame({ src: SERVER, dst: '10.0.0.9', sport: 443, dport: 1000 })); // its reply: passes
    tb.run();
    expect(tb.received(WAN).length).toBe(1);
    expect(tb.received(LAN).length).toBe(1);
    expect(nf.counters().table_full).toBe(38);
    tb.advanceTimeNs(1_500_000_000); // the attacker's flows die; the sweep frees them as time passes
    for (let i = 0; i < 10; i++) tb.send(LAN, tcpFrame({ src: `10.0.1.${i}`, dst: SERVER, sport: 1000, dport: 443 }));
    tb.run();
    expect(tb.received(WAN).length).toBe(10);
    expect(tb.violations).toEqual([]);
  });

  it('with maxFlowsPerSource, the flooding host is capped (quota_refused) and other hosts still open flows', () => {
    const { tb, nf } = setUp('restricted', { capacity: 64, maxFlowsPerSource: 8 });
    for (let p = 0; p < 100; p++) tb.send(LAN, udpFrame({ src: HOST, dst: SERVER, sport: 2000 + p, dport: 53 }));
    tb.run();
    expect(nf.counters()).toMatchObject({ passed_out: 8, quota_refused: 92, table_full: 0, flows: 8 });
    tb.received(WAN);
    for (let h = 0; h < 20; h++) tb.send(LAN, tcpFrame({ src: ip(0x0a000100 + h), dst: SERVER, sport: 1000, dport: 443 }));
    tb.run();
    expect(tb.received(WAN).length).toBe(20);
    expect(nf.counters()).toMatchObject({ passed_out: 28, quota_refused: 92, flows: 28 });
    expect(tb.violations).toEqual([]);
  });
});

describe('firewall configuration', () => {
  const def = nfDefinition('firewall');
  it('has defaults, flags and a capacity for benchmarks', () => {
    const c = def.parseConfig(undefined);
    expect(c).toEqual({ capacity: 65536, expiryNs: 10_000_000_000, maxFlowsPerSource: 0 });
    expect(def.capacity!(c)).toBe(65536);
    expect(Object.keys(def.flags).sort()).toEqual(['capacity', 'expiry-ns', 'max-flows-per-source']);
  });

  it('rejects bad values with one clear error each', () => {
    const bad = (config: unknown, message: RegExp) => {
      expect(() => def.parseConfig(config)).toThrow(TinyNfError);
      expect(() => def.parseConfig(config)).toThrow(message);
    };
    bad({ maxFlowsPerSource: -1 }, /maxFlowsPerSource: must be an integer/);
    bad({ capacity: 0 }, /capacity: must be an integer 1\.\.16777216 \(got 0\)/);
    bad({ capacity: 1 << 25 }, /capacity: must be an integer/);
    bad({ expiryNs: 0 }, /expiryNs: must be a positive number/);
    bad({ expiry: 5 }, /unknown field 'expiry'/);
    bad('x', /not an object/);
    expect(() => def.create(def.parseConfig({}), { clock: { nowNs: () => 0 }, ports: 3 })).toThrow(/two ports/);
  });
});
