// Property test over every registered NF, through the real driver on the in-memory 82599: random and malformed
// frames (random bytes, truncated headers, IHL < 5, wrong lengths, fragments, odd ethertypes) on every port.
// Properties: no exception, no data-sheet violation, every received frame is accounted for (sent on some port
// or counted as dropped by the driver), and every frame the NF changed is a well-formed frame: Ethernet, and if
// IPv4, version 4, IHL >= 5, total length within the frame and a correct header checksum.
import fc from 'fast-check';
import { NETWORK_FUNCTIONS } from '../../src/nf';
import { Testbed } from '../../src/app/testbed';
import { ipv4HeaderChecksumValid, udpFrame } from './frames';

/** Configurations that give NFs something to do beyond their defaults (NFs needing config to start at all). */
const CONFIGS: Record<string, unknown> = {
  policer: { rate: 10_000, burst: 3000, capacity: 64, expiryNs: 1_000_000 },
  // few ports and flows with a short expiry: port exhaustion, a full table and expiry all happen
  nat: { startPort: 1024, endPort: 1039, capacity: 32, expiryNs: 1_000_000 },
  firewall: { capacity: 16, expiryNs: 1_000_000 },
  // a small MAC table with a short expiry and a static entry: learning, a full table, expiry and hairpins happen
  bridge: { capacity: 8, expiryNs: 1_000_000, static: [{ mac: '02:00:00:00:00:02', port: 1 }] },
  // a small table and connection table; one NAT-mode backend whose address is udpFrame's default source (replies)
  lb: {
    tableSize: 13,
    capacity: 8,
    expiryNs: 1_000_000,
    vip: '10.0.0.1',
    backends: [
      { name: 'nat', mac: '02:00:00:00:00:0a', ip: '10.1.0.2' },
      { name: 'dsr', mac: '02:00:00:00:00:0b' },
    ],
  },
  // LAN frames to 10.0.0.1-3 are encapsulated (one of each kind); WAN frames are decapsulated or dropped
  tunnel: {
    localIp: '10.0.0.1',
    fib: [
      { key: '10.0.0.1', encap: 'vxlan', vni: 7, dstIp: '10.0.0.2', srcMac: '02:00:00:00:00:01', dstMac: '02:00:00:00:00:02' },
      { key: '10.0.0.2', encap: 'gre', dstIp: '10.0.0.3', srcMac: '02:00:00:00:00:01', dstMac: '02:00:00:00:00:02' },
      { key: '10.0.0.3', encap: 'ipip', dstIp: '10.0.0.4', srcMac: '02:00:00:00:00:01', dstMac: '02:00:00:00:00:02' },
    ],
  },
};

/** A frame as a transmitter puts it on the wire: padded with zeros to the 60-byte minimum (64 with FCS). */
function padded(f: Uint8Array): Uint8Array {
  if (f.length >= 60) return f;
  const out = new Uint8Array(60);
  out.set(f);
  return out;
}

/** Frames with random bytes after a plausible Ethernet header, or mutated valid UDP/IPv4 frames. */
const rawFrame: fc.Arbitrary<Uint8Array> = fc.oneof(
  // random bytes, short to full-size, with the IPv4 ethertype half of the time
  fc.tuple(fc.uint8Array({ minLength: 14, maxLength: 300 }), fc.boolean()).map(([bytes, ip]) => {
    if (ip) {
      bytes[12] = 0x08;
      bytes[13] = 0x00;
    }
    return bytes;
  }),
  // a valid UDP frame with one header field mutated, then possibly truncated
  fc
    .record({
      dst: fc.integer({ min: 1, max: 8 }),
      sport: fc.integer({ min: 1, max: 65535 }),
      size: fc.integer({ min: 60, max: 1514 }),
      field: fc.integer({ min: 14, max: 41 }),
      value: fc.integer({ min: 0, max: 255 }),
      mutate: fc.boolean(),
      truncate: fc.integer({ min: 14, max: 1514 }),
    })
    .map((r) => {
      const f = udpFrame({ dst: `10.0.0.${r.dst}`, sport: r.sport, size: r.size });
      if (r.mutate) f[r.field] = r.value;
      return r.truncate < f.length ? f.subarray(0, r.truncate).slice() : f;
    }),
);
const arbitraryFrame = rawFrame.map(padded);

/** Whether `frame` equals `input` apart from the MAC addresses and the NIC's padding to 60 bytes. */
function unchangedPayload(frame: Uint8Array, input: Uint8Array): boolean {
  if (frame.length !== Math.max(60, input.length)) return false;
  for (let i = 12; i < input.length; i++) if (frame[i] !== input[i]) return false;
  return true;
}

function wellFormed(frame: Uint8Array): string | null {
  if (frame.length < 60 || frame.length > 2048) return `length ${frame.length}`;
  if (frame[12] !== 0x08 || frame[13] !== 0x00) return null;
  const ihl = frame[14] & 0x0f;
  if (frame[14] >> 4 !== 4 || ihl < 5) return `IPv4 version/IHL byte 0x${frame[14].toString(16)}`;
  const total = (frame[16] << 8) | frame[17];
  if (total < ihl * 4 || 14 + total > frame.length) return `IPv4 total length ${total} in a ${frame.length}-byte frame`;
  if (!ipv4HeaderChecksumValid(frame)) return 'IPv4 header checksum';
  return null;
}

const names = Object.keys(NETWORK_FUNCTIONS);

describe.each(['restricted', 'flexible'] as const)('every NF on random and malformed frames (%s model)', (model) => {
  it.each(names)('%s', (name) => {
    const def = NETWORK_FUNCTIONS[name];
    const tb = Testbed.create({ ports: 2, model });
    const nf = def.create(def.parseConfig(CONFIGS[name]), { clock: tb.env, ports: 2 });
    tb.attach(nf);
    let sent = 0;
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 1 }), arbitraryFrame), { minLength: 1, maxLength: 40 }), (batch) => {
        for (const [port, frame] of batch) tb.send(port, frame);
        sent += batch.length;
        tb.run();
        tb.advanceTimeNs(100_000);
        const inputs = batch.map(([, f]) => f);
        for (let port = 0; port < 2; port++) {
          for (const out of tb.received(port)) {
            if (inputs.some((f) => unchangedPayload(out, f))) continue; // passed through as it came
            const problem = wellFormed(out);
            if (problem !== null) throw new Error(`${name} sent a malformed frame on port ${port}: ${problem}`);
          }
        }
        expect(tb.violations).toEqual([]);
      }),
      { numRuns: 25, seed: 0x7e57 },
    );
    // every frame received by the NICs reached a forwarder, and each was either sent or counted as dropped
    expect(sent).toBeGreaterThan(100);
    const stats = tb.stats();
    const received = stats.nics.reduce((s, n) => s + n.rxPackets, 0);
    expect(received).toBe(sent);
    const handled = stats.forwarders.reduce((s, f) => s + (f === null ? 0 : f.rxPackets), 0);
    expect(handled).toBe(sent);
  });
});
