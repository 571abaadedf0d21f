// The tunnel: an overlay endpoint with a protocol-independent FIB (seed: "Protocol-Independent FIB Architecture for
// Network Overlays").
// - LAN (port 0) -> WAN: the FIB key is a configured byte range of the frame (keyOffset, keyLength: e.g. the inner
//   destination IPv4 address at 30/4, or the destination MAC at 0/6). An exact-match entry gives the encapsulation
//   (VXLAN, GRE, GRE-TAP, IPIP), the outer IPv4 source/destination, TTL, ToS, DF, the outer MACs (next hop), the
//   VNI or GRE key, and the WAN port. The frame is encapsulated in place (bytes moved with copyWithin inside the
//   2 KiB buffer). VXLAN and GRE-TAP carry the whole inner frame; GRE and IPIP carry its IPv4 packet (the inner
//   Ethernet header is stripped, so the inner frame must be a well-formed IPv4 packet).
// - WAN (ports 1..n-1) -> LAN: IPv4 addressed to localIp carrying VXLAN (UDP 4789), GRE/GRE-TAP or IPIP is
//   validated and decapsulated; GRE (IPv4 payload) and IPIP get an Ethernet header from innerSrcMac/innerDstMac.
//   Anything else from WAN is "non-tunnel" traffic: dropped (counted non_tunnel), or passed unchanged to LAN if
//   passNonTunnel is set. Tunnel traffic that fails validation is always dropped and counted.
// No allocation per packet: the FIB, the outer header templates and the counters are allocated at creation.
import { TinyNfError } from '../env/environment';
import type { PacketHandler } from '../ixgbe/handler';
import { NfDefinition, defineNf } from './config';
import { Infer, schema } from './schema';
import {
  ENCAP_GRE,
  ENCAP_IPIP,
  ENCAP_TYPES,
  ENCAP_VXLAN,
  EncapName,
  OUTER_IP_CHECKSUM,
  OUTER_IP_ID,
  OUTER_IP_TOTAL_LENGTH,
  OUTER_UDP_LENGTH,
  OUTER_UDP_SOURCE,
  TEMPLATE_BYTES,
  foldChecksum,
  vxlanSourcePort,
  writeTemplate,
} from './lib/encap';
import { FlowTable } from './lib/flow-table';
import { ipv4PseudoHeaderSum, onesComplementSum } from './lib/checksum';
import { ETHERTYPE_TEB } from './lib/ethernet';
import { ETHERTYPE_IPV4, ETH_HEADER, ETH_TYPE, IPV4_MIN_HEADER, IP_DST, IP_PROTOCOL, IP_PROTO_UDP, IP_SRC, IP_TOTAL_LENGTH, internetChecksum, ipv4HeaderLength, isFragment } from './lib/packet';
import { configIpv4, configMac } from './lib/address';
import { IP_PROTO_GRE, IP_PROTO_IPIP, ipv4Check, ipv4TotalLength } from './lib/ipv4';
import { BAD_TUNNEL } from './lib/malformed';
import { GRE_FLAG_C, VXLAN_FLAG_I, VXLAN_HEADER, VXLAN_PORT, greCheck, greKey, greProtocol, vxlanVni } from './lib/overlay';
import { UDP_CHECKSUM, UDP_HEADER, UDP_LENGTH, dstPort } from './lib/transport';
import { KEY_OUT_OF_FRAME, MAX_KEY_BYTES, MAX_KEY_END, PiFib, parseKeyBytes } from './lib/pi-fib';
import type { NetworkFunction, NfContext } from './network-function';

export interface TunnelEntry {
  /** Key bytes: dotted IPv4 ("10.1.0.1"), separated hex bytes ("02:00:00:00:00:01") or hex ("0a010001"). */
  key: string;
  encap: EncapName;
  /** Outer destination IPv4 (the remote tunnel endpoint). */
  dstIp: string;
  /** Outer source IPv4 (default: localIp). */
  srcIp?: string;
  /** Outer source and destination MAC (the next hop on the underlay). */
  srcMac: string;
  dstMac: string;
  /** VXLAN network identifier, 0..2^24-1 (vxlan only, required there). */
  vni?: number;
  /** GRE key (RFC 2890), 0..2^32-1 (gre/gretap only; absent = no key). */
  greKey?: number;
  /** Outer TTL (default 64), ToS byte (default 0), Don't Fragment (default false, as Linux VXLAN). */
  ttl?: number;
  tos?: number;
  df?: boolean;
  /** WAN port to send on (default 1). */
  output?: number;
}

export interface TunnelConfig {
  /** FIB key: `keyLength` (1..16) bytes at `keyOffset` of the frame received on LAN. */
  keyOffset: number;
  keyLength: number;
  /** This endpoint's tunnel address: default outer source, and the destination decapsulated traffic must have. */
  localIp: string;
  /** Largest outer IPv4 packet (total length) sent; larger encapsulations are dropped (oversize). */
  mtu: number;
  /** FIB capacity (entries). */
  capacity: number;
  /** Pass non-tunnel WAN traffic unchanged to LAN instead of dropping it. */
  passNonTunnel: boolean;
  /** Ethernet header given to decapsulated GRE (IPv4) and IPIP packets. */
  innerSrcMac: string;
  innerDstMac: string;
  /** VNIs accepted on decapsulation (default: those of the FIB's vxlan entries). */
  vnis?: number[];
  /** GRE keys accepted on decapsulation of keyed GRE (default: those of the FIB's entries). Unkeyed GRE is accepted. */
  greKeys?: number[];
  fib: TunnelEntry[];
}

export const TUNNEL_DEFAULTS: TunnelConfig = {
  keyOffset: 30,
  keyLength: 4,
  localIp: '192.0.2.1',
  mtu: 1500,
  capacity: 1024,
  passNonTunnel: false,
  innerSrcMac: '02:00:00:00:00:01',
  innerDstMac: '02:00:00:00:00:02',
  fib: [
    // the destination of `tinynf run --sim`'s LAN traffic, into VXLAN segment 42 towards 192.0.2.2
    { key: '10.1.0.1', encap: 'vxlan', vni: 42, dstIp: '192.0.2.2', srcMac: '02:00:00:00:00:01', dstMac: '02:00:00:00:00:02' },
  ],
};

/** WAN frames shorter than this cannot be IPv4 with a full header. */
const OUTER_MIN = ETH_HEADER + IPV4_MIN_HEADER;

export function createTunnel(config: TunnelConfig, ctx: NfContext): NetworkFunction {
  if (!Number.isInteger(ctx.ports) || ctx.ports < 2) throw new TinyNfError(`the tunnel needs a LAN port 0 and WAN ports 1.., got ${ctx.ports} ports`);
  const fibEntries = config.fib;
  const fib = new PiFib(config.keyOffset, config.keyLength, config.capacity);
  const entries = fibEntries.length;
  const templates = new Uint8Array(Math.max(1, entries) * TEMPLATE_BYTES);
  const headerLength = new Uint8Array(Math.max(1, entries));
  const ipBaseSum = new Int32Array(Math.max(1, entries));
  const encapType = new Uint8Array(Math.max(1, entries));
  const outputIndex = new Uint8Array(Math.max(1, entries));
  const localIp = parseIpv4(config.localIp, 'localIp');
  /** Per entry, a view of exactly its outer header bytes (made once, so the packet path copies without allocating). */
  const templateOf: Uint8Array[] = [];
  for (let e = 0; e < entries; e++) {
    const entry = fibEntries[e];
    const where = `fib[${e}]`;
    const output = entry.output ?? 1;
    if (!Number.isInteger(output) || output < 1 || output >= ctx.ports) {
      throw new TinyNfError(`tunnel config: ${where}.output must be a WAN port 1..${ctx.ports - 1}, got ${output}`);
    }
    const key = parseKeyBytes(entry.key);
    if (key === null || key.length !== config.keyLength) {
      throw new TinyNfError(`tunnel config: ${where}.key '${entry.key}' must be ${config.keyLength} bytes (keyLength)`);
    }
    fib.add(key, e);
    const type = ENCAP_TYPES[entry.encap];
    encapType[e] = type;
    outputIndex[e] = output - 1;
    const [len, sum] = writeTemplate(
      {
        encap: type,
        srcMac: parseMac(entry.srcMac, `${where}.srcMac`),
        dstMac: parseMac(entry.dstMac, `${where}.dstMac`),
        srcIp: entry.srcIp === undefined ? localIp : parseIpv4(entry.srcIp, `${where}.srcIp`),
        dstIp: parseIpv4(entry.dstIp, `${where}.dstIp`),
        ttl: entry.ttl ?? 64,
        tos: entry.tos ?? 0,
        df: entry.df ?? false,
        vni: entry.vni ?? 0,
        greKey: entry.greKey ?? -1,
      },
      templates,
      e * TEMPLATE_BYTES,
    );
    headerLength[e] = len;
    ipBaseSum[e] = sum;
    templateOf.push(templates.subarray(e * TEMPLATE_BYTES, e * TEMPLATE_BYTES + len));
  }
  const vnis = idSet(config.vnis ?? fibEntries.filter((f) => f.encap === 'vxlan').map((f) => f.vni ?? 0));
  const greKeys = idSet(config.greKeys ?? fibEntries.filter((f) => f.greKey !== undefined).map((f) => f.greKey!));
  const innerEthernet = new Uint8Array(ETH_HEADER);
  innerEthernet.set(parseMac(config.innerDstMac, 'innerDstMac'), 0);
  innerEthernet.set(parseMac(config.innerSrcMac, 'innerSrcMac'), 6);
  innerEthernet[12] = ETHERTYPE_IPV4 >>> 8;
  innerEthernet[13] = ETHERTYPE_IPV4 & 0xff;
  const mtu = config.mtu;
  const passNonTunnel = config.passNonTunnel;
  let ipId = 0;

  const c = {
    // LAN -> WAN
    encapsulated: 0,
    fib_miss: 0,
    key_out_of_frame: 0,
    inner_not_ipv4: 0,
    oversize: 0,
    // WAN -> LAN
    decapsulated: 0,
    non_tunnel: 0,
    passed_non_tunnel: 0,
    malformed: 0,
    bad_checksum: 0,
    fragment: 0,
    unknown_vni: 0,
    unknown_gre_key: 0,
    unsupported: 0,
  };

  const lanToWan: PacketHandler = (packet, data, length, outputs) => {
    const e = fib.lookup(data, length);
    if (e < 0) {
      if (e === KEY_OUT_OF_FRAME) c.key_out_of_frame++;
      else c.fib_miss++;
      return 0;
    }
    const type = encapType[e];
    let payloadStart = 0;
    let payloadLength = length;
    if (type === ENCAP_GRE || type === ENCAP_IPIP) {
      // L3 payload: the inner IPv4 packet without Ethernet header (and without Ethernet padding)
      if (ipv4HeaderLength(data, length) === 0) {
        c.inner_not_ipv4++;
        return 0;
      }
      payloadStart = ETH_HEADER;
      payloadLength = data.getUint16(IP_TOTAL_LENGTH); // the inner frame's IPv4 total length
    }
    const header = headerLength[e];
    const newLength = header + payloadLength;
    const ipTotal = newLength - ETH_HEADER;
    if (ipTotal > mtu || newLength > packet.length) {
      c.oversize++;
      return 0;
    }
    const sourcePort = type === ENCAP_VXLAN ? vxlanSourcePort(data, length) : 0; // from the inner headers, before moving
    packet.copyWithin(header, payloadStart, payloadStart + payloadLength);
    packet.set(templateOf[e]); // one memcpy of the prepared outer headers
    const id = ipId;
    ipId = (ipId + 1) & 0xffff;
    data.setUint16(OUTER_IP_TOTAL_LENGTH, ipTotal);
    data.setUint16(OUTER_IP_ID, id);
    data.setUint16(OUTER_IP_CHECKSUM, foldChecksum(ipBaseSum[e] + ipTotal + id));
    if (type === ENCAP_VXLAN) {
      data.setUint16(OUTER_UDP_SOURCE, sourcePort);
      data.setUint16(OUTER_UDP_LENGTH, ipTotal - IPV4_MIN_HEADER); // checksum stays 0 (RFC 7348: SHOULD be 0)
    }
    c.encapsulated++;
    outputs[outputIndex[e]] = 1;
    return newLength;
  };

  const nonTunnel = (length: number, outputs: Uint8Array): number => {
    if (passNonTunnel) {
      c.passed_non_tunnel++;
      outputs[0] = 1;
      return length;
    }
    c.non_tunnel++;
    return 0;
  };

  /** Deliver the L2 frame at [start, start + n) to LAN as is. */
  const deliverFrame = (packet: Uint8Array, start: number, n: number, outputs: Uint8Array): number => {
    if (n < ETH_HEADER) {
      c.malformed++;
      return 0;
    }
    packet.copyWithin(0, start, start + n);
    c.decapsulated++;
    outputs[0] = 1;
    return n;
  };

  /** Deliver the IPv4 packet at [start, start + n) to LAN behind the configured Ethernet header. */
  const deliverIpv4 = (packet: Uint8Array, data: DataView, start: number, n: number, outputs: Uint8Array): number => {
    if (n < IPV4_MIN_HEADER) {
      c.malformed++;
      return 0;
    }
    if (ipv4Check(data, start, start + n) < 0) {
      c.malformed++;
      return 0;
    }
    const total = ipv4TotalLength(data, start);
    packet.copyWithin(ETH_HEADER, start, start + total); // trailing bytes beyond the inner total length are dropped
    packet.set(innerEthernet);
    c.decapsulated++;
    outputs[0] = 1;
    return ETH_HEADER + total;
  };

  const wanToLan: PacketHandler = (packet, data, length, outputs) => {
    if (length < OUTER_MIN || data.getUint16(ETH_TYPE) !== ETHERTYPE_IPV4 || data.getUint32(IP_DST) !== localIp) {
      return nonTunnel(length, outputs);
    }
    const proto = data.getUint8(IP_PROTOCOL);
    if (proto !== IP_PROTO_UDP && proto !== IP_PROTO_GRE && proto !== IP_PROTO_IPIP) return nonTunnel(length, outputs);
    // Addressed to us with a tunnel protocol: from here on, it is ours to validate.
    const ihl = ipv4HeaderLength(data, length);
    if (ihl === 0) {
      c.malformed++;
      return 0;
    }
    if (internetChecksum(packet, ETH_HEADER, ihl) !== 0) {
      c.bad_checksum++;
      return 0;
    }
    if (isFragment(data)) {
      c.fragment++; // no reassembly: a fragmented tunnel packet cannot be decapsulated
      return 0;
    }
    const l4 = ETH_HEADER + ihl;
    const end = ETH_HEADER + data.getUint16(IP_TOTAL_LENGTH); // Ethernet padding beyond the IPv4 packet is ignored
    if (proto === IP_PROTO_UDP) {
      if (l4 + UDP_HEADER > end) {
        c.malformed++;
        return 0;
      }
      if (dstPort(data, l4) !== VXLAN_PORT) return nonTunnel(length, outputs);
      const udpLength = data.getUint16(l4 + UDP_LENGTH);
      if (udpLength < UDP_HEADER + VXLAN_HEADER || l4 + udpLength > end) {
        c.malformed++;
        return 0;
      }
      const udpChecksum = data.getUint16(l4 + UDP_CHECKSUM);
      if (udpChecksum !== 0) {
        // RFC 7348 Section 5: a non-zero checksum must be correct; the decapsulator may check it (we do)
        const pseudo = ipv4PseudoHeaderSum(data.getUint32(IP_SRC), data.getUint32(IP_DST), IP_PROTO_UDP, udpLength);
        if (foldChecksum(pseudo + onesComplementSum(packet, l4, udpLength)) !== 0) {
          c.bad_checksum++;
          return 0;
        }
      }
      const vx = l4 + UDP_HEADER;
      if ((data.getUint8(vx) & VXLAN_FLAG_I) === 0) {
        c.malformed++; // RFC 7348: the I flag must be set for a valid VNI; reserved bits are ignored on receipt
        return 0;
      }
      if (!vnis.has(vxlanVni(data, vx))) {
        c.unknown_vni++;
        return 0;
      }
      return deliverFrame(packet, vx + VXLAN_HEADER, udpLength - UDP_HEADER - VXLAN_HEADER, outputs);
    }
    if (proto === IP_PROTO_GRE) {
      const greLength = greCheck(data, l4, end); // the optional checksum, key and sequence number (RFC 2890) within `end`
      if (greLength === BAD_TUNNEL) {
        c.unsupported++; // routing (RFC 1701), strict source route, or a GRE version other than 0 (e.g. PPTP)
        return 0;
      }
      if (greLength < 0) {
        c.malformed++;
        return 0;
      }
      if ((data.getUint16(l4) & GRE_FLAG_C) !== 0 && internetChecksum(packet, l4, end - l4) !== 0) {
        c.bad_checksum++; // RFC 2784: the checksum covers the GRE header and the payload
        return 0;
      }
      const key = greKey(data, l4);
      if (key >= 0 && !greKeys.has(key)) {
        c.unknown_gre_key++;
        return 0;
      }
      const at = l4 + greLength; // a sequence number is not enforced: no reordering
      const protocol = greProtocol(data, l4);
      if (protocol === ETHERTYPE_TEB) return deliverFrame(packet, at, end - at, outputs);
      if (protocol === ETHERTYPE_IPV4) return deliverIpv4(packet, data, at, end - at, outputs);
      c.unsupported++;
      return 0;
    }
    // IPIP (RFC 2003)
    return deliverIpv4(packet, data, l4, end - l4, outputs);
  };

  const outputPorts: number[][] = [[]];
  for (let p = 1; p < ctx.ports; p++) {
    outputPorts[0].push(p);
    outputPorts.push([0]);
  }
  const handlers: PacketHandler[] = [lanToWan];
  for (let p = 1; p < ctx.ports; p++) handlers.push(wanToLan);
  return {
    name: 'tunnel',
    outputPorts,
    handlers,
    counters: () => ({ ...c, fib_entries: fib.size }),
  };
}

/** A fixed set of 32-bit identifiers (VNIs, GRE keys) with keyed-hash lookups. */
class IdSet {
  private readonly table: FlowTable;
  constructor(ids: readonly number[]) {
    this.table = new FlowTable(Math.max(1, ids.length), Number.POSITIVE_INFINITY);
    for (const id of ids) this.table.findOrInsert(id | 0, 0, 0, 0);
  }
  has(id: number): boolean {
    return this.table.find(id | 0, 0, 0, 0) >= 0;
  }
}

function idSet(ids: readonly number[]): IdSet {
  return new IdSet(ids);
}

// ---- configuration ----

function parseIpv4(text: unknown, field: string): number {
  return configIpv4(text, `tunnel config: ${field}`);
}

function parseMac(text: unknown, field: string): Uint8Array {
  return configMac(text, `tunnel config: ${field}`);
}

function integerIn(value: unknown, field: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new TinyNfError(`tunnel config: ${field} must be a whole number ${min}..${max}, got ${JSON.stringify(value)}`);
  }
  return value;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function onlyKnownFields(obj: Record<string, unknown>, known: readonly string[], where: string): void {
  for (const k of Object.keys(obj)) {
    if (!known.includes(k)) throw new TinyNfError(`tunnel config: unknown field '${where}${k}' (known: ${known.join(', ')})`);
  }
}

const ENTRY_FIELDS = ['key', 'encap', 'dstIp', 'srcIp', 'srcMac', 'dstMac', 'vni', 'greKey', 'ttl', 'tos', 'df', 'output'] as const;
/** Largest MTU: the outer frame must fit the 2048-byte packet buffer (14 bytes of Ethernet header). */
export const TUNNEL_MAX_MTU = 2048 - ETH_HEADER;

function parseEntry(raw: unknown, index: number, keyLength: number): TunnelEntry {
  const where = `fib[${index}]`;
  if (!isObject(raw)) throw new TinyNfError(`tunnel config: ${where} must be an object`);
  onlyKnownFields(raw, ENTRY_FIELDS, `${where}.`);
  const encap = raw.encap;
  if (typeof encap !== 'string' || !(encap in ENCAP_TYPES)) {
    throw new TinyNfError(`tunnel config: ${where}.encap must be one of ${Object.keys(ENCAP_TYPES).join(', ')}, got ${JSON.stringify(encap)}`);
  }
  if (typeof raw.key !== 'string') throw new TinyNfError(`tunnel config: ${where}.key must be a string (IPv4, MAC-style or hex bytes)`);
  const key = parseKeyBytes(raw.key);
  if (key === null) throw new TinyNfError(`tunnel config: ${where}.key '${raw.key}' is not dotted IPv4, separated hex bytes or hex`);
  if (key.length !== keyLength) throw new TinyNfError(`tunnel config: ${where}.key '${raw.key}' has ${key.length} bytes, keyLength is ${keyLength}`);
  parseIpv4(raw.dstIp, `${where}.dstIp`);
  if (raw.srcIp !== undefined) parseIpv4(raw.srcIp, `${where}.srcIp`);
  parseMac(raw.srcMac, `${where}.srcMac`);
  parseMac(raw.dstMac, `${where}.dstMac`);
  const entry: TunnelEntry = {
    key: raw.key,
    encap: encap as EncapName,
    dstIp: raw.dstIp as string,
    srcMac: raw.srcMac as string,
    dstMac: raw.dstMac as string,
  };
  if (raw.srcIp !== undefined) entry.srcIp = raw.srcIp as string;
  if (encap === 'vxlan') {
    if (raw.vni === undefined) throw new TinyNfError(`tunnel config: ${where} is vxlan and needs a vni`);
    entry.vni = integerIn(raw.vni, `${where}.vni`, 0, 0xffffff);
  } else if (raw.vni !== undefined) {
    throw new TinyNfError(`tunnel config: ${where}.vni is only for vxlan entries`);
  }
  if (raw.greKey !== undefined) {
    if (encap !== 'gre' && encap !== 'gretap') throw new TinyNfError(`tunnel config: ${where}.greKey is only for gre and gretap entries`);
    entry.greKey = integerIn(raw.greKey, `${where}.greKey`, 0, 0xffffffff);
  }
  if (raw.ttl !== undefined) entry.ttl = integerIn(raw.ttl, `${where}.ttl`, 1, 255);
  if (raw.tos !== undefined) entry.tos = integerIn(raw.tos, `${where}.tos`, 0, 255);
  if (raw.df !== undefined) {
    if (typeof raw.df !== 'boolean') throw new TinyNfError(`tunnel config: ${where}.df must be true or false`);
    entry.df = raw.df;
  }
  if (raw.output !== undefined) entry.output = integerIn(raw.output, `${where}.output`, 1, 255);
  return entry;
}

function idList(raw: unknown, field: string, max: number): number[] {
  if (!Array.isArray(raw)) throw new TinyNfError(`tunnel config: ${field} must be an array of numbers`);
  return raw.map((v, i) => integerIn(v, `${field}[${i}]`, 0, max));
}

const CONFIG_FIELDS = ['keyOffset', 'keyLength', 'localIp', 'mtu', 'capacity', 'passNonTunnel', 'innerSrcMac', 'innerDstMac', 'vnis', 'greKeys', 'fib'] as const;

export function parseTunnelConfig(raw: unknown): TunnelConfig {
  if (raw === undefined || raw === null) raw = {};
  if (!isObject(raw)) throw new TinyNfError('tunnel config must be a JSON object');
  onlyKnownFields(raw, CONFIG_FIELDS, '');
  const merged: Record<string, unknown> = { ...TUNNEL_DEFAULTS, ...raw };
  const keyLength = integerIn(merged.keyLength, 'keyLength', 1, MAX_KEY_BYTES);
  const keyOffset = integerIn(merged.keyOffset, 'keyOffset', 0, MAX_KEY_END - 1);
  if (keyOffset + keyLength > MAX_KEY_END) {
    throw new TinyNfError(`tunnel config: keyOffset + keyLength (${keyOffset} + ${keyLength}) must be at most ${MAX_KEY_END} (a full frame)`);
  }
  parseIpv4(merged.localIp, 'localIp');
  parseMac(merged.innerSrcMac, 'innerSrcMac');
  parseMac(merged.innerDstMac, 'innerDstMac');
  const mtu = integerIn(merged.mtu, 'mtu', 68, TUNNEL_MAX_MTU);
  const capacity = integerIn(merged.capacity, 'capacity', 1, 1 << 24);
  if (typeof merged.passNonTunnel !== 'boolean') throw new TinyNfError('tunnel config: passNonTunnel must be true or false');
  if (!Array.isArray(merged.fib)) throw new TinyNfError('tunnel config: fib must be an array of entries');
  const fib = (merged.fib as unknown[]).map((e, i) => parseEntry(e, i, keyLength));
  if (fib.length > capacity) throw new TinyNfError(`tunnel config: ${fib.length} fib entries exceed capacity ${capacity}`);
  const seen = new Set<string>();
  for (let i = 0; i < fib.length; i++) {
    const hex = Buffer.from(parseKeyBytes(fib[i].key)!).toString('hex');
    if (seen.has(hex)) throw new TinyNfError(`tunnel config: fib[${i}].key '${fib[i].key}' appears twice`);
    seen.add(hex);
  }
  const config: TunnelConfig = {
    keyOffset,
    keyLength,
    localIp: merged.localIp as string,
    mtu,
    capacity,
    passNonTunnel: merged.passNonTunnel,
    innerSrcMac: merged.innerSrcMac as string,
    innerDstMac: merged.innerDstMac as string,
    vnis: merged.vnis === undefined ? fib.filter((f) => f.encap === 'vxlan').map((f) => f.vni!) : idList(merged.vnis, 'vnis', 0xffffff),
    greKeys: merged.greKeys === undefined ? fib.filter((f) => f.greKey !== undefined).map((f) => f.greKey!) : idList(merged.greKeys, 'greKeys', 0xffffffff),
    fib,
  };
  return config;
}

const TUNNEL_CONFIG = schema.object({
  keyOffset: schema.integer({ min: 0, max: MAX_KEY_END - 1, default: TUNNEL_DEFAULTS.keyOffset, describe: 'FIB key: byte offset in the LAN frame' }),
  keyLength: schema.integer({ min: 1, max: MAX_KEY_BYTES, default: TUNNEL_DEFAULTS.keyLength, describe: 'FIB key: length in bytes (1..16)' }),
  // addresses kept in text form (TunnelConfig); validated by parseTunnelConfig
  localIp: schema.string({ default: TUNNEL_DEFAULTS.localIp, describe: 'local tunnel endpoint IPv4 (outer source, decapsulation destination)' }),
  mtu: schema.integer({ min: 68, max: TUNNEL_MAX_MTU, default: TUNNEL_DEFAULTS.mtu, describe: 'largest outer IPv4 packet; larger encapsulations are dropped' }),
  capacity: schema.integer({ min: 1, max: 1 << 24, default: TUNNEL_DEFAULTS.capacity, describe: 'FIB entries at most' }),
  passNonTunnel: schema.boolean({ default: TUNNEL_DEFAULTS.passNonTunnel, describe: 'pass non-tunnel WAN traffic to LAN instead of dropping it' }),
  innerSrcMac: schema.custom('MAC address', (raw) => raw, { default: TUNNEL_DEFAULTS.innerSrcMac, describe: 'source MAC of decapsulated GRE/IPIP packets' }),
  innerDstMac: schema.custom('MAC address', (raw) => raw, { default: TUNNEL_DEFAULTS.innerDstMac, describe: 'destination MAC of decapsulated GRE/IPIP packets' }),
  vnis: schema.optional(schema.custom('list of VNI', (raw) => raw, { describe: 'VNIs accepted on decapsulation (default: those of the FIB)' })),
  greKeys: schema.optional(schema.custom('list of GRE key', (raw) => raw, { describe: 'GRE keys accepted on decapsulation (default: those of the FIB)' })),
  fib: schema.custom('list of FIB entries', (raw) => raw, { default: TUNNEL_DEFAULTS.fib, describe: 'key (hex) -> encapsulation entries' }),
});

export const TUNNEL_DEFINITION: NfDefinition<TunnelConfig> = defineNf({
  name: 'tunnel',
  description: 'overlay endpoint: LAN (port 0) frames encapsulated (VXLAN, GRE, GRE-TAP, IPIP) by a protocol-independent FIB; WAN tunnel traffic decapsulated',
  config: TUNNEL_CONFIG,
  // the schema checks each field's type; parseTunnelConfig the FIB's structure and the relations between fields
  check: (c) => {
    const raw: Record<string, unknown> = { ...c };
    for (const k of Object.keys(raw)) if (raw[k] === undefined) delete raw[k];
    return parseTunnelConfig(raw) as unknown as Infer<typeof TUNNEL_CONFIG>;
  },
  create: (c, ctx) => createTunnel(c as unknown as TunnelConfig, ctx),
}) as unknown as NfDefinition<TunnelConfig>;
