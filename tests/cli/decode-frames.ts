// Frames for `tinynf decode`'s acceptance test, built by the packet library's builder: every header the library
// reads (VLAN, QinQ, ARP, IPv4 options and fragments, IPv6 extension headers and fragments, TCP options, UDP, SCTP,
// ICMP and ICMPv6 errors, VXLAN, GRE, Geneve, IP in IP) and malformed ones; tshark decodes the same file.
import { frame, pattern } from '../../src/nf/lib/build';
import { TrafficGenerator } from '../../src/sim/wires/generator';
import { PcapWriter } from '../../src/sim/wires/pcap';

export function libraryFrames(): Uint8Array[] {
  const A = { src: '10.0.0.1', dst: '192.0.2.77' };
  const A6 = { src: '2001:db8::1', dst: 'fe80::abcd:0:0:1' };
  const f: Uint8Array[] = [];
  const add = (b: Uint8Array) => f.push(b);
  add(frame().eth().ipv4(A).udp({ sport: 1234, dport: 5000 }).payload(20).build());
  add(frame().eth().vlan({ id: 100, pcp: 5 }).ipv4(A).tcp({ sport: 40000, dport: 443, flags: 0x02, seq: 12345, options: [2, 4, 5, 180, 1, 3, 3, 7, 4, 2, 0, 0] }).build());
  add(frame().eth().vlan({ id: 10, tpid: 0x88a8 }).vlan(20).ipv4({ ...A, ttl: 3, id: 0xbeef, df: true }).udp({ sport: 53, dport: 53 }).payload(33).build());
  add(frame().eth({ dst: 'ff:ff:ff:ff:ff:ff' }).arp({ senderMac: '02:00:00:00:00:09', senderIp: '10.0.0.9', targetIp: '10.0.0.1' }).padTo(60).build());
  add(frame().eth().arp({ op: 'reply', senderMac: '02:00:00:00:00:01', senderIp: '10.0.0.1', targetMac: '02:00:00:00:00:09', targetIp: '10.0.0.9' }).padTo(60).build());
  add(frame().eth().ipv4({ ...A, options: [148, 4, 0, 0, 1, 7, 7, 4, 0, 0, 0, 0, 0] }).icmp({ type: 8, id: 5, seq: 6 }).payload(12).build());
  add(frame().eth().ipv4({ ...A, mf: true, id: 7 }).udp({ sport: 9, dport: 10 }).payload(64).build());
  add(frame().eth().ipv4({ ...A, fragmentOffset: 9, id: 7, protocol: 17 }).payload(30).build());
  add(frame().eth().ipv4(A).icmp({ type: 3, code: 3 }).raw(frame().ipv4({ src: A.dst, dst: A.src }).udp({ sport: 777, dport: 53 }).payload(20).build()).build());
  add(frame().eth().ipv6(A6).udp({ sport: 546, dport: 547 }).payload(17).build());
  add(frame().eth().ipv6({ ...A6, extensions: [{ type: 0 }, { type: 43, length: 24 }, { type: 60 }] }).tcp({ sport: 1, dport: 2, flags: 0x12 }).payload(8).build());
  add(frame().eth().ipv6({ ...A6, extensions: [{ type: 44, more: true, identification: 99 }] }).udp({ sport: 3, dport: 4 }).payload(40).build());
  add(frame().eth().ipv6({ ...A6, nextHeader: 17, extensions: [{ type: 44, fragmentOffset: 6, identification: 99 }] }).payload(40).build());
  add(frame().eth().ipv6(A6).icmpv6({ type: 135 }).payload(20).build());
  add(frame().eth().ipv6(A6).icmpv6({ type: 1, code: 4 }).raw(frame().ipv6({ src: A6.dst, dst: A6.src }).udp({ sport: 5, dport: 6 }).build()).build());
  add(frame().eth().ipv4(A).raw([0x30, 0x39, 0x00, 0x50, 1, 2, 3, 4, 0, 0, 0, 0]).build().fill(132, 23, 24)); // SCTP (protocol 132)
  add(frame().eth().ipv4({ src: '172.16.0.1', dst: '172.16.0.2' }).udp({ sport: 50000 }).vxlan({ vni: 4242 }).eth({ src: '02:aa:00:00:00:01', dst: '02:aa:00:00:00:02' }).ipv4(A).tcp({ sport: 80, dport: 8080 }).payload(10).build());
  add(frame().eth().ipv4({ src: '172.16.0.1', dst: '172.16.0.2' }).gre({ key: 77 }).ipv4(A).udp({ sport: 11, dport: 12 }).payload(4).build());
  add(frame().eth().ipv4({ src: '172.16.0.1', dst: '172.16.0.2' }).gre().eth().ipv6(A6).icmpv6({ type: 128 }).payload(8).build());
  add(frame().eth().ipv6({ src: '2001:db8::a', dst: '2001:db8::b' }).udp({ sport: 40001 }).geneve({ vni: 12, options: [1, 2, 0x80, 1, 0, 0, 0, 0] }).eth().ipv4(A).udp({ sport: 7, dport: 8 }).build());
  add(frame().eth().ipv4({ src: '172.16.0.1', dst: '172.16.0.2' }).ipv4(A).udp({ sport: 13, dport: 14 }).build());
  // malformed
  add(frame().eth().ipv4({ ...A, totalLength: 200 }).udp().payload(10).build()); // total length beyond the frame
  add(frame().eth().ipv4(A).udp({ length: 99 }).payload(10).build()); // UDP length beyond the packet
  add(frame().eth().ipv4(A).tcp({ dataOffset: 3 }).payload(10).build()); // TCP data offset below 5
  add(frame().eth().ipv4(A).build().subarray(0, 30)); // frame ends inside the IPv4 header
  add(frame().eth().ipv6(A6).build().subarray(0, 40)); // frame ends inside the IPv6 header
  add(frame().eth().ipv6({ ...A6, nextHeader: 60 }).payload(4).build()); // extension header runs past the payload
  add(frame().eth().ipv4(A).padTo(60).build()); // empty IPv4 payload (protocol 253) with Ethernet padding
  add(frame().eth().ipv4(A).udp().payload(pattern(4)).padTo(60).build()); // UDP with padding
  return f;
}

/** Write `frames` to a pcap file (µs timestamps, one per millisecond), cut to `snaplen` bytes each if given. */
export function writeFrames(path: string, frames: Uint8Array[], snaplen?: number): void {
  const w = new PcapWriter(path, { resolution: 'us', epochSeconds: 1_700_000_000, snaplen });
  frames.forEach((b, i) => w.frame(b, b.length, i * 1e6));
  w.close();
}

/** Frames of the simulator's traffic generator (src/sim/wires/generator.ts): UDP and TCP flows, IMIX sizes. */
export function generatorFrames(): Uint8Array[] {
  const out: Uint8Array[] = [];
  const buf = new Uint8Array(9014);
  for (const protocol of ['udp', 'tcp'] as const) {
    const g = new TrafficGenerator({ flows: 7, frameSize: 'imix', count: 40, protocol, vary: ['srcIp', 'dstPort'], order: 'random', stamp: protocol === 'udp', tcpFlags: 0x18 });
    for (let n = g.next(buf, 0); n > 0; n = g.next(buf, 0)) out.push(buf.slice(0, n));
  }
  return out;
}
