import { spawnSync } from 'child_process';
import { TinyNfError } from '../../src/env/environment';
import { TapDevice, checkInterfaceName, findInterfaceNamespace } from '../../src/env/tap';
import { TapWire } from '../../src/sim/wires/tap';
import { createInput, createOutput, closeWire } from '../../src/sim/wires/describe';
import { parseMac } from '../../src/sim/wires/addresses';
import { inNs, netnsSkipReason, nsSysfs, pollUntil, run } from './helpers/netns';

const skip = netnsSkipReason();
if (skip !== null) console.warn(`SKIPPED TAP tests: ${skip} (they need root, iproute2 and /dev/net/tun)`);
const describeRoot = skip === null ? describe : describe.skip;

test('interface names are checked before touching the OS', () => {
  expect(() => checkInterfaceName('a-very-long-name-x')).toThrow(TinyNfError);
  expect(() => checkInterfaceName('bad/name')).toThrow(/invalid interface name/);
  expect(() => TapDevice.open('')).toThrow(/invalid interface name/);
});

describeRoot('TAP wire (root)', () => {
  const ns = `tnftap${process.pid}`;
  const tap = 'tnft0';
  const address = '10.77.0.1';
  const peer = '10.77.0.2';
  let wire: TapWire | undefined;

  beforeAll(() => {
    run('ip', ['netns', 'add', ns]);
    // The TAP is created inside the namespace (TapDevice enters it for the open): nothing in the root one.
    wire = TapWire.open(tap, { netns: ns });
    // No IPv6 on it, so the only frames the kernel sends are the ones this test causes.
    inNs(ns, ['sysctl', '-qw', `net.ipv6.conf.${tap}.disable_ipv6=1`]);
    run('ip', ['-n', ns, 'addr', 'add', `${address}/24`, 'dev', tap]);
    run('ip', ['-n', ns, 'link', 'set', tap, 'up']);
  });

  afterAll(() => {
    wire?.close();
    spawnSync('ip', ['netns', 'del', ns], { timeout: 10_000 });
  });

  test('the TAP lives in the namespace only', () => {
    expect(findInterfaceNamespace(tap)).toBe(ns);
    expect(spawnSync('ip', ['link', 'show', 'dev', tap], { stdio: 'ignore' }).status).not.toBe(0);
  });

  test('next() returns 0 when nothing waits, then the ARP request the kernel sends', () => {
    const buf = new Uint8Array(2048);
    // Drain anything the kernel sent at link-up (nothing expected with IPv6 off; be tolerant).
    while (wire!.input.next(buf, 0) > 0);
    expect(wire!.input.next(buf, 0)).toBe(0);

    // A UDP datagram to an unknown neighbour makes the kernel ARP for it.
    inNs(ns, ['bash', '-c', `echo hello > /dev/udp/${peer}/9`]);
    const ourMac = parseMac(nsSysfs(ns, tap, 'address'));
    const length = pollUntil(() => {
      const n = wire!.input.next(buf, 0);
      return n > 0 && buf[12] === 0x08 && buf[13] === 0x06 ? n : null;
    }, 2000);
    expect(length).toBe(60); // 42-byte ARP padded to the Ethernet minimum
    expect(Array.from(buf.subarray(0, 6))).toEqual([255, 255, 255, 255, 255, 255]);
    expect(Array.from(buf.subarray(6, 12))).toEqual(Array.from(ourMac));
    expect((buf[20] << 8) | buf[21]).toBe(1); // ARP opcode: request
    expect(Array.from(buf.subarray(38, 42))).toEqual([10, 77, 0, 2]); // target protocol address
    expect(Array.from(buf.subarray(42, 60)).every((b) => b === 0)).toBe(true);
  });

  test('a frame written by the output is received by the kernel', () => {
    const ourMac = parseMac(nsSysfs(ns, tap, 'address'));
    const peerMac = [0x02, 0x00, 0x00, 0x00, 0x77, 0x02];
    // ARP reply: peer is at peerMac.
    const f = new Uint8Array(60);
    f.set(ourMac, 0);
    f.set(peerMac, 6);
    f.set([0x08, 0x06, 0x00, 0x01, 0x08, 0x00, 6, 4, 0x00, 0x02], 12);
    f.set(peerMac, 22);
    f.set([10, 77, 0, 2], 28);
    f.set(ourMac, 32);
    f.set([10, 77, 0, 1], 38);
    const before = Number(nsSysfs(ns, tap, 'statistics/rx_packets'));
    wire!.output.frame(f, 60, 0);
    expect(wire!.output.errors).toBe(0);
    expect(Number(nsSysfs(ns, tap, 'statistics/rx_packets'))).toBe(before + 1);
    // The kernel processed it: the neighbour table now has the peer at our MAC.
    const neigh = pollUntil(() => {
      const out = run('ip', ['-n', ns, 'neigh', 'show', peer]);
      return out.includes('02:00:00:00:77:02') ? out : null;
    }, 2000);
    expect(neigh).not.toBeNull();
  });

  test('a TAP has a single reader: opening it twice is a clear error', () => {
    expect(() => TapWire.open(tap, { netns: ns })).toThrow(/already has it open/);
  });

  test('described tap input and output share one device', () => {
    const second = 'tnft1';
    const input = createInput({ kind: 'tap', name: second, netns: ns });
    const output = createOutput({ kind: 'tap', name: second, netns: ns });
    run('ip', ['-n', ns, 'link', 'set', second, 'up']);
    expect((input as unknown as { wire: TapWire }).wire).toBe((output as unknown as { wire: TapWire }).wire);
    const before = Number(nsSysfs(ns, second, 'statistics/rx_packets'));
    const frame = new Uint8Array(60).fill(0xff, 0, 12);
    frame[12] = 0x88; // local experimental EtherType 0x88b5: the kernel counts and drops it
    frame[13] = 0xb5;
    output.frame(frame, 60, 0);
    expect(Number(nsSysfs(ns, second, 'statistics/rx_packets'))).toBe(before + 1);
    closeWire(input);
    expect((input as unknown as { wire: TapWire }).wire.device.closed).toBe(false);
    closeWire(output);
    expect((input as unknown as { wire: TapWire }).wire.device.closed).toBe(true);
    // A non-persistent TAP disappears with its last fd.
    expect(pollUntil(() => (findInterfaceNamespace(second) === null ? true : null), 2000)).toBe(true);
  });
});
