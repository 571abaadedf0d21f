// `tinynf decode FILE [--json]`: every frame of a classic pcap file decoded by the packet library (src/nf/lib/decode.ts),
// one line per frame, or with --json one JSON object per line (the DecodedFrame of docs/packets.md plus `frame`, the
// 1-based frame number, `time_ns`, `length` on the wire and `captured` bytes). A file cut short inside its last
// record decodes the records before it and says so on stderr, as tcpdump and tshark do.
import type { Argv, CommandModule } from 'yargs';
import { DecodedFrame, DecodedPacket, decodeFrame } from '../nf/lib/decode';
import { readPcap } from '../sim/wires/pcap';
import { writeOut } from './stdout';

const hex4 = (n: number) => `0x${n.toString(16).padStart(4, '0')}`;

function packetText(p: DecodedPacket, parts: string[]): void {
  if (p.ipv4 !== undefined) {
    const v = p.ipv4;
    const frag = v.mf || v.fragmentOffset !== 0 ? ` frag ${v.fragmentOffset * 8}${v.mf ? '+' : ''}` : '';
    parts.push(`ipv4 ${v.src} > ${v.dst} proto ${v.protocol} ttl ${v.ttl} len ${v.totalLength}${v.headerLength > 20 ? ` hdr ${v.headerLength}` : ''}${frag}`);
  }
  if (p.ipv6 !== undefined) {
    const v = p.ipv6;
    const ext = v.extensions.length > 0 ? ` ext ${v.extensions.join(',')}` : '';
    parts.push(`ipv6 ${v.src} > ${v.dst} next ${v.protocol}${ext} hlim ${v.hopLimit} plen ${v.payloadLength}`);
  }
  if (p.tcp !== undefined) {
    const t = p.tcp;
    const names = ['FIN', 'SYN', 'RST', 'PSH', 'ACK', 'URG', 'ECE', 'CWR', 'NS'].filter((_, i) => (t.flags >> i) & 1);
    parts.push(`tcp ${t.srcPort} > ${t.dstPort} [${names.join(',')}] seq ${t.seq} ack ${t.ack} win ${t.window} len ${t.payloadLength}`);
  }
  if (p.udp !== undefined) parts.push(`udp ${p.udp.srcPort} > ${p.udp.dstPort} len ${p.udp.length}`);
  if (p.sctp !== undefined) parts.push(`sctp ${p.sctp.srcPort} > ${p.sctp.dstPort}`);
  if (p.icmp !== undefined) parts.push(`icmp type ${p.icmp.type} code ${p.icmp.code}`);
  if (p.icmpv6 !== undefined) parts.push(`icmpv6 type ${p.icmpv6.type} code ${p.icmpv6.code}`);
  if (p.quoted !== undefined) {
    const q: string[] = [];
    packetText(p.quoted, q);
    parts.push(`quoting [${q.join(' | ')}]`);
  }
  if (p.vxlan !== undefined) parts.push(`vxlan vni ${p.vxlan.vni}`);
  if (p.gre !== undefined) parts.push(`gre proto ${hex4(p.gre.protocol)}${p.gre.key !== undefined ? ` key ${p.gre.key}` : ''}`);
  if (p.geneve !== undefined) parts.push(`geneve vni ${p.geneve.vni} proto ${hex4(p.geneve.protocol)}`);
  if (p.l2tp !== undefined) parts.push(`l2tp tunnel ${p.l2tp.tunnel} session ${p.l2tp.session}${p.l2tp.control ? ' control' : ''}`);
  if (p.inner !== undefined) frameText(p.inner, parts);
}

function frameText(f: DecodedFrame, parts: string[]): void {
  if (f.eth !== undefined) parts.push(`eth ${f.eth.src} > ${f.eth.dst} type ${hex4(f.eth.type)}`);
  for (const v of f.vlan ?? []) parts.push(`vlan ${v.id}${v.pcp !== 0 ? ` pcp ${v.pcp}` : ''}${v.tpid !== 0x8100 ? ` tpid ${hex4(v.tpid)}` : ''}`);
  if (f.pppoe !== undefined) parts.push(`pppoe session ${f.pppoe.session} proto ${hex4(f.pppoe.protocol)}`);
  if (f.arp !== undefined) {
    const a = f.arp;
    parts.push(a.operation === 1 ? `arp who-has ${a.targetIp} tell ${a.senderIp} (${a.senderMac})` : a.operation === 2 ? `arp reply ${a.senderIp} is-at ${a.senderMac}` : `arp op ${a.operation} ${a.senderIp} > ${a.targetIp}`);
  }
  packetText(f, parts);
  if (f.cut !== undefined) parts.push(`(capture ends inside the ${f.cut} header)`);
  if (f.malformed !== undefined) parts.push(`MALFORMED ${f.malformed.name}: ${f.malformed.reason}`);
}

/** The text line of one frame. */
export function decodedLine(n: number, length: number, captured: number, f: DecodedFrame): string {
  const parts: string[] = [];
  frameText(f, parts);
  return `${n} ${length}${captured < length ? ` (${captured} captured)` : ''}: ${parts.join(' | ')}`;
}

export const command: CommandModule = {
  command: 'decode <file>',
  describe: 'decode every frame of a pcap file with the packet library: one line (--json: one JSON object) per frame',
  builder: (y: Argv) =>
    y
      .positional('file', { type: 'string', describe: 'classic pcap file (Ethernet link type)', demandOption: true })
      .option('json', { type: 'boolean', default: false, describe: 'one JSON object per frame instead of a text line' }),
  handler: async (args) => {
    const path = String(args.file);
    const pcap = readPcap(path, { allowTruncatedEnd: true });
    const out: string[] = [];
    const records = pcap.records;
    for (let i = 0; i < records.length; i++) {
      const r = records[i];
      const f = decodeFrame(r.data, r.originalLength);
      const length = Math.max(r.originalLength, r.data.length);
      out.push(
        args.json === true
          ? JSON.stringify({ frame: i + 1, time_ns: r.timeNs, length, captured: r.data.length, ...f })
          : decodedLine(i + 1, length, r.data.length, f),
      );
      // the reader went away (| head): the rest would be decoded for nobody
      if (out.length >= 1024 && !(await writeOut(out.splice(0).join('\n') + '\n'))) return;
    }
    if (out.length > 0 && !(await writeOut(out.join('\n') + '\n'))) return;
    if (pcap.truncatedEnd !== undefined) process.stderr.write(`tinynf: ${path} is cut short (${pcap.truncatedEnd}); decoded the ${pcap.records.length} frames before it\n`);
  },
};
