// In-place answers: ARP reply, ICMP error, ICMP echo reply, checked against the independent helpers of frames.ts.
import { parseMac } from '../../../src/nf/lib/address';
import { writeArpReply, writeIcmpEchoReply, writeIcmpError } from '../../../src/nf/lib/answer';
import { frame } from '../../../src/nf/lib/build';
import { PacketInfo, classify } from '../../../src/nf/lib/classify';
import { OK } from '../../../src/nf/lib/malformed';
import { arpPacket, checksumOf, icmpFrame, ipv4 } from '../frames';

const view = (f: Uint8Array) => new DataView(f.buffer, f.byteOffset, f.byteLength);

test('an ARP request becomes the reply the independent helper builds', () => {
  const buf = new Uint8Array(2048);
  buf.set(arpPacket({ op: 'request', senderMac: '02:00:00:00:00:09', senderIp: '10.0.0.9', targetIp: '10.0.0.1' }));
  const n = writeArpReply(buf, view(buf), 60, 14, parseMac('02:00:00:00:00:aa')!);
  const want = arpPacket({ op: 'reply', senderMac: '02:00:00:00:00:aa', senderIp: '10.0.0.1', targetMac: '02:00:00:00:00:09', targetIp: '10.0.0.9' });
  expect(n).toBe(60);
  expect(Array.from(buf.subarray(0, 60))).toEqual(Array.from(want));
});

test('an ICMP error quotes the offending packet behind valid IPv4 and ICMP headers', () => {
  const orig = frame().eth({ src: '02:00:00:00:00:01', dst: '02:00:00:00:00:02' }).vlan(7).ipv4({ src: '10.0.0.5', dst: '8.8.8.8', ttl: 1 }).udp({ sport: 3333, dport: 53 }).payload(700).build();
  const buf = new Uint8Array(2048);
  buf.set(orig);
  const d = view(buf);
  const info = new PacketInfo();
  expect(classify(d, 0, orig.length, info)).toBe(OK);
  const n = writeIcmpError(buf, d, info.l3, info.l3End, 11, 0, 0, ipv4('192.0.2.1'));
  expect(n).toBe(18 + 576); // RFC 1812: at most 576 bytes of IP
  const out = buf.slice(0, n);
  expect(classify(view(out), 0, n, info)).toBe(OK);
  expect([info.protocol, info.srcPort, info.dstPort, info.srcIp, info.dstIp, info.outerVlan]).toEqual([1, 11, 0, ipv4('192.0.2.1'), ipv4('10.0.0.5'), 7]);
  expect(checksumOf(out, 18, 38)).toBe(0);
  expect(checksumOf(out, 38, n)).toBe(0);
  expect(Array.from(out.subarray(46, n))).toEqual(Array.from(orig.subarray(18, 18 + 576 - 28)));
  expect(Array.from(out.subarray(0, 6))).toEqual([2, 0, 0, 0, 0, 1]); // back to the sender
  // a short packet is quoted whole and the answer padded to 60 bytes
  const small = frame().eth().ipv4({ src: '10.0.0.5', dst: '8.8.8.8' }).payload(2).build();
  buf.fill(0).set(small);
  const m = writeIcmpError(buf, d, 14, small.length, 3, 1, 0, ipv4('192.0.2.1'));
  expect(m).toBe(14 + 28 + 22);
  expect(checksumOf(buf, 34, m)).toBe(0);
});

test('an echo request becomes a valid echo reply', () => {
  const req = icmpFrame({ src: '10.0.0.5', dst: '10.0.0.1', id: 9, seq: 3, payload: 30 });
  const d = view(req);
  writeIcmpEchoReply(req, d, req.length, 14, 34);
  expect(Array.from(req)).toEqual(Array.from(
    (() => {
      const r = icmpFrame({ src: '10.0.0.1', dst: '10.0.0.5', type: 0, id: 9, seq: 3, payload: 30 });
      r.set([2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2], 0);
      return r;
    })(),
  ));
});
