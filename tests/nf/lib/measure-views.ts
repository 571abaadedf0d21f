// Which style of header access V8 optimises best (docs/packets.md, "Views and the classifier"): the same
// classification of the same frames written three ways, each run in alternating rounds so that machine load hits all
// alike. Not a test: run `node dist/tests/nf/lib/measure-views.js`; it prints ns per frame and the ratios.
//   (a) classify() into the PacketInfo class (plain functions over the DataView, a class with number fields);
//   (b) the same walk writing into an Int32Array at constant indices;
//   (c) "view objects": one reused object per header, bound to (data, offset), fields read through getters;
//   (d) as (c) with plain DataView reads at offsets instead of the view objects.
// (b), (c) and (d) do the same reduced walk (Ethernet, tags, IPv4/IPv6, TCP/UDP ports): (b) vs (d) isolates the
// result's storage (typed array vs object), (c) vs (d) the access style (getters on bound views vs offsets);
// (a) is the library's full classifier (options walked, ICMP, 20 fields reset) for reference.
import { frame } from '../../../src/nf/lib/build';
import { PacketInfo, classify } from '../../../src/nf/lib/classify';
import { isVlanTpid } from '../../../src/nf/lib/ethernet';
import { ipv4Check } from '../../../src/nf/lib/ipv4';
import { Ipv6Walk, ipv6Check, ipv6Walk } from '../../../src/nf/lib/ipv6';
import { tcpCheck, udpCheck } from '../../../src/nf/lib/transport';

const FRAMES = [
  frame().eth().ipv4({ src: '10.0.0.1', dst: '10.0.0.2' }).udp({ sport: 1, dport: 2 }).payload(18).build(),
  frame().eth().vlan(7).ipv4({ src: '10.0.0.1', dst: '10.0.0.2' }).tcp({ sport: 3, dport: 4, options: [2, 4, 5, 180] }).payload(10).build(),
  frame().eth().ipv6({ src: '2001:db8::1', dst: '2001:db8::2', extensions: [{ type: 0 }] }).udp({ sport: 5, dport: 6 }).payload(10).build(),
  frame().eth().ipv4({ src: '10.0.0.3', dst: '10.0.0.4' }).tcp({ sport: 7, dport: 8 }).payload(6).build(),
];
const BUFS = FRAMES.map((f) => {
  const b = new Uint8Array(2048);
  b.set(f);
  return { d: new DataView(b.buffer), length: f.length };
});

// (b) result in an Int32Array
const R_STATUS = 0, R_L3 = 1, R_PROTO = 2, R_L4 = 3, R_SRC = 4, R_DST = 5, R_SPORT = 6, R_DPORT = 7;
const walk = new Ipv6Walk();
function classifyInto(d: DataView, length: number, r: Int32Array): number {
  r[R_STATUS] = 0; r[R_L3] = -1; r[R_PROTO] = -1; r[R_L4] = -1; r[R_SRC] = 0; r[R_DST] = 0; r[R_SPORT] = 0; r[R_DPORT] = 0;
  if (length < 14) return (r[R_STATUS] = -1);
  let at = 14;
  let type = d.getUint16(12);
  while (isVlanTpid(type)) {
    if (at + 4 > length) return (r[R_STATUS] = -2);
    type = d.getUint16(at + 2);
    at += 4;
  }
  r[R_L3] = at;
  let l4: number;
  let end: number;
  if (type === 0x0800) {
    const ihl = ipv4Check(d, at, length);
    if (ihl < 0) return (r[R_STATUS] = ihl);
    r[R_SRC] = d.getUint32(at + 12);
    r[R_DST] = d.getUint32(at + 16);
    r[R_PROTO] = d.getUint8(at + 9);
    end = at + d.getUint16(at + 2);
    l4 = at + ihl;
  } else if (type === 0x86dd) {
    const c = ipv6Check(d, at, length);
    if (c < 0) return (r[R_STATUS] = c);
    l4 = ipv6Walk(d, at, walk);
    if (l4 < 0) return (r[R_STATUS] = l4);
    r[R_PROTO] = walk.protocol;
    end = at + 40 + d.getUint16(at + 4);
  } else {
    return (r[R_STATUS] = 0);
  }
  const p = r[R_PROTO];
  const hl = p === 6 ? tcpCheck(d, l4, end) : p === 17 ? udpCheck(d, l4, end) : 0;
  if (hl < 0) return (r[R_STATUS] = hl);
  r[R_L4] = l4;
  r[R_SPORT] = d.getUint16(l4);
  r[R_DPORT] = d.getUint16(l4 + 2);
  return (r[R_STATUS] = 0);
}

// (c) reused view objects with getters
class Ipv4View {
  private d: DataView = new DataView(new ArrayBuffer(0));
  private at = 0;
  bind(d: DataView, at: number): this {
    this.d = d;
    this.at = at;
    return this;
  }
  get ihl(): number { return (this.d.getUint8(this.at) & 0x0f) * 4; }
  get totalLength(): number { return this.d.getUint16(this.at + 2); }
  get protocol(): number { return this.d.getUint8(this.at + 9); }
  get src(): number { return this.d.getUint32(this.at + 12); }
  get dst(): number { return this.d.getUint32(this.at + 16); }
}
class PortsView {
  private d: DataView = new DataView(new ArrayBuffer(0));
  private at = 0;
  bind(d: DataView, at: number): this {
    this.d = d;
    this.at = at;
    return this;
  }
  get srcPort(): number { return this.d.getUint16(this.at); }
  get dstPort(): number { return this.d.getUint16(this.at + 2); }
}
const ip4 = new Ipv4View();
const ports = new PortsView();
const viewOut = { status: 0, l3: 0, protocol: 0, l4: 0, srcIp: 0, dstIp: 0, srcPort: 0, dstPort: 0 };
function classifyViews(d: DataView, length: number): number {
  const o = viewOut;
  o.status = 0; o.l3 = -1; o.protocol = -1; o.l4 = -1; o.srcIp = 0; o.dstIp = 0; o.srcPort = 0; o.dstPort = 0;
  if (length < 14) return (o.status = -1);
  let at = 14;
  let type = d.getUint16(12);
  while (isVlanTpid(type)) {
    if (at + 4 > length) return (o.status = -2);
    type = d.getUint16(at + 2);
    at += 4;
  }
  o.l3 = at;
  let l4: number;
  let end: number;
  if (type === 0x0800) {
    if (ipv4Check(d, at, length) < 0) return (o.status = -6);
    const v = ip4.bind(d, at);
    o.srcIp = v.src;
    o.dstIp = v.dst;
    o.protocol = v.protocol;
    end = at + v.totalLength;
    l4 = at + v.ihl;
  } else if (type === 0x86dd) {
    if (ipv6Check(d, at, length) < 0) return (o.status = -11);
    l4 = ipv6Walk(d, at, walk);
    if (l4 < 0) return (o.status = l4);
    o.protocol = walk.protocol;
    end = at + 40 + d.getUint16(at + 4);
  } else {
    return 0;
  }
  const hl = o.protocol === 6 ? tcpCheck(d, l4, end) : o.protocol === 17 ? udpCheck(d, l4, end) : 0;
  if (hl < 0) return (o.status = hl);
  const pv = ports.bind(d, l4);
  o.l4 = l4;
  o.srcPort = pv.srcPort;
  o.dstPort = pv.dstPort;
  return 0;
}

const plainOut = { status: 0, l3: 0, protocol: 0, l4: 0, srcIp: 0, dstIp: 0, srcPort: 0, dstPort: 0 };
function classifyPlain(d: DataView, length: number): number {
  const o = plainOut;
  o.status = 0; o.l3 = -1; o.protocol = -1; o.l4 = -1; o.srcIp = 0; o.dstIp = 0; o.srcPort = 0; o.dstPort = 0;
  if (length < 14) return (o.status = -1);
  let at = 14;
  let type = d.getUint16(12);
  while (isVlanTpid(type)) {
    if (at + 4 > length) return (o.status = -2);
    type = d.getUint16(at + 2);
    at += 4;
  }
  o.l3 = at;
  let l4: number;
  let end: number;
  if (type === 0x0800) {
    const ihl = ipv4Check(d, at, length);
    if (ihl < 0) return (o.status = -6);
    o.srcIp = d.getUint32(at + 12);
    o.dstIp = d.getUint32(at + 16);
    o.protocol = d.getUint8(at + 9);
    end = at + d.getUint16(at + 2);
    l4 = at + ihl;
  } else if (type === 0x86dd) {
    if (ipv6Check(d, at, length) < 0) return (o.status = -11);
    l4 = ipv6Walk(d, at, walk);
    if (l4 < 0) return (o.status = l4);
    o.protocol = walk.protocol;
    end = at + 40 + d.getUint16(at + 4);
  } else {
    return 0;
  }
  const hl = o.protocol === 6 ? tcpCheck(d, l4, end) : o.protocol === 17 ? udpCheck(d, l4, end) : 0;
  if (hl < 0) return (o.status = hl);
  o.l4 = l4;
  o.srcPort = d.getUint16(l4);
  o.dstPort = d.getUint16(l4 + 2);
  return 0;
}

const info = new PacketInfo();
const r = new Int32Array(8);
const N = 200_000; // frames per chunk; chunks of the four ways alternate, timed by the process's CPU time
let sink = 0;
const ways: [string, () => void][] = [
  ['(a) classify() into PacketInfo', () => {
    for (let i = 0; i < N; i++) {
      const b = BUFS[i & 3];
      classify(b.d, 0, b.length, info);
      sink += info.srcPort;
    }
  }],
  ['(b) walk into an Int32Array', () => {
    for (let i = 0; i < N; i++) {
      const b = BUFS[i & 3];
      classifyInto(b.d, b.length, r);
      sink += r[R_SPORT];
    }
  }],
  ['(c) bound view objects with getters', () => {
    for (let i = 0; i < N; i++) {
      const b = BUFS[i & 3];
      classifyViews(b.d, b.length);
      sink += viewOut.srcPort;
    }
  }],
  ['(d) plain reads into an object', () => {
    for (let i = 0; i < N; i++) {
      const b = BUFS[i & 3];
      classifyPlain(b.d, b.length);
      sink += plainOut.srcPort;
    }
  }],
];

const total = ways.map(() => 0);
const CHUNKS = 30;
for (let c = -3; c < CHUNKS; c++) {
  // chunks -3..-1 warm up (optimisation); the order of the ways rotates so none always runs after another
  for (let j = 0; j < ways.length; j++) {
    const k = (j + (c & 3)) % ways.length;
    const t = process.cpuUsage();
    ways[k][1]();
    const u = process.cpuUsage(t);
    if (c >= 0) total[k] += (u.user + u.system) * 1000;
  }
}
const ns = total.map((t) => t / (CHUNKS * N));
ways.forEach(([name], k) => console.log(`${name}: ${ns[k].toFixed(1)} ns/frame (${(ns[k] / ns[3]).toFixed(2)}x of (d))`));
if (sink === 42) console.log('');
