// The router through the real tinynf driver on the in-memory 82599 (Testbed): what comes out of which port.
import { Testbed, internetChecksum } from 'tinynf';
import router from './router';

/** An Ethernet + IPv4 + UDP frame from 10.0.0.5 to `dst` with `ttl` (IPv4 header checksum correct). */
function frame(dst: string, ttl: number): Uint8Array {
  const f = new Uint8Array(60);
  const v = new DataView(f.buffer);
  f.set([0x02, 0, 0, 0, 0x01, 0x00, 0x02, 0, 0, 0, 0, 0x99], 0);
  v.setUint16(12, 0x0800);
  f[14] = 0x45;
  v.setUint16(16, 46); // total length: 60 - 14
  f[22] = ttl;
  f[23] = 17; // UDP
  f.set([10, 0, 0, 5], 26);
  f.set(dst.split('.').map(Number), 30);
  v.setUint16(24, internetChecksum(f, 14, 20));
  v.setUint16(34, 1024);
  v.setUint16(36, 80);
  v.setUint16(38, 26);
  return f;
}

function start(config: unknown = {}): Testbed {
  const tb = Testbed.create();
  tb.attach(router.create(router.parseConfig(config), { clock: tb.env, ports: 2 }));
  return tb;
}

const hex = (b: Uint8Array, from: number, to: number): string => Buffer.from(b.subarray(from, to)).toString('hex');

test('routes by the longest prefix, decrements the TTL with a correct checksum, rewrites the MACs', () => {
  const tb = start({
    routes: [
      { prefix: '10.1.0.0/16', port: 1, nextHopMac: '02:00:00:00:00:0b' },
      { prefix: '10.1.2.0/24', port: 0, nextHopMac: '02:00:00:00:00:0c' },
    ],
  });
  tb.send(0, frame('10.1.9.9', 64)); // /16 -> port 1
  tb.send(0, frame('10.1.2.3', 64)); // /24 wins -> port 0 (hairpin)
  tb.run();
  const [wan] = tb.received(1);
  expect(wan).toBeDefined();
  expect(hex(wan, 0, 6)).toBe('02000000000b'); // next hop
  expect(hex(wan, 6, 12)).toBe('020000000101'); // the router's port 1
  expect(wan[22]).toBe(63);
  expect(internetChecksum(wan, 14, 20)).toBe(0); // a correct header sums to 0 (RFC 1071)
  const [lan] = tb.received(0);
  expect(hex(lan, 0, 6)).toBe('02000000000c');
  expect(lan[22]).toBe(63);
  expect(tb.stats().nf).toMatchObject({ routed: 2, ttl_expired: 0, no_route: 0 });
});

test('drops TTL-expired packets and packets without a route, and counts them', () => {
  const tb = start();
  tb.send(0, frame('10.1.0.1', 1));
  tb.send(0, frame('10.1.0.1', 0));
  tb.send(0, frame('192.0.2.1', 64));
  tb.run();
  expect(tb.received(0)).toEqual([]);
  expect(tb.received(1)).toEqual([]);
  expect(tb.stats().nf).toMatchObject({ routed: 0, ttl_expired: 2, no_route: 1 });
});

test('rejects a bad route with the path of the field', () => {
  expect(() => router.parseConfig({ routes: [{ prefix: '10.1.0.0/16', port: 1, nextHopMac: '02:00:00:00:00' }] })).toThrow(
    'router config: routes[0].nextHopMac: not a MAC address (aa:bb:cc:dd:ee:ff)',
  );
});
