// The NAT: network address and port translation (NAPT, RFC 3022), after Vigor's vignat. Port 0 is the LAN (inside),
// port 1 the WAN (outside); Ethernet addresses pass through unchanged (see docs/lab.md: the neighbours are static).
// - LAN -> WAN: TCP, UDP and ICMP echo requests get the source address `externalIp` and an external port (ICMP: the
//   echo identifier) allocated from [startPort, endPort]. One mapping per LAN 5-tuple (source and destination
//   address and port, protocol), so each external port belongs to exactly one mapping.
// - WAN -> LAN: only packets of a known mapping pass: destination `externalIp` and an allocated port, and the source
//   address and port (the remote endpoint) and protocol the mapping was made for — the full 5-tuple, as Vigor's NAT
//   matches it ("address and port-dependent" filtering, RFC 4787). The destination is rewritten back.
// - Checksums are updated incrementally (RFC 1624 eqn. 3, src/nf/lib/checksum.ts): the IPv4 header checksum for the
//   address, the TCP/UDP checksum for the address (pseudo-header) and port; a UDP checksum of 0 (none) stays 0;
//   ICMP's covers only the identifier.
// - Dropped and counted: non-IPv4 (non_ipv4), malformed IPv4 or L4 header (malformed), a wrong IPv4 header
//   checksum (bad_checksum: verified as a router does, RFC 1812 5.2.2; TCP/UDP/ICMP checksums are not verified,
//   which would cost a pass over the payload: the incremental update keeps an error in them for the receiver),
//   fragments (fragment: no reassembly, and a non-first fragment has no ports to translate), other protocols and
//   ICMP other than echo request (LAN) / reply (WAN) (unsupported), WAN traffic not to externalIp
//   (wrong_destination) or of no live mapping (no_mapping), new LAN flows when the table is full (table_full) or
//   no external port is free (port_exhausted).
// - Mappings idle for `expiryNs` expire (traffic either way keeps them); their ports become free again.
// Time is the NF context's clock (a CoarseClock refreshed once per round of polls), read once per packet.
import { TinyNfError } from '../env/environment';
import type { PacketHandler } from '../ixgbe/handler';
import { defineNf } from './config';
import { Infer, schema } from './schema';
import { checksumReplace16, checksumReplaceAddressPort, checksumReplace32, ipv4HeaderChecksumValid, udpChecksumField } from './lib/checksum';
import { ICMP_CHECKSUM, ICMP_ECHO_REPLY, ICMP_ECHO_REQUEST, ICMP_HEADER as ICMP_ECHO_MIN, ICMP_IDENTIFIER } from './lib/icmp';
import { IP_PROTO_ICMP } from './lib/ipv4';
import { TCP_CHECKSUM, TCP_MIN_HEADER as TCP_MIN, UDP_CHECKSUM, UDP_HEADER as UDP_MIN } from './lib/transport';
import { FlowTable, keyedHash, randomSecret } from './lib/flow-table';
import { QuotaLink, SourceQuota } from './lib/source-quota';
import { ETHERTYPE_IPV4, ETH_HEADER, ETH_TYPE, IP_CHECKSUM, IP_DST, IP_FLAGS_FRAGMENT, IP_PROTOCOL, IP_PROTO_TCP, IP_PROTO_UDP, IP_SRC, IP_TOTAL_LENGTH, ipv4HeaderLength } from './lib/packet';
import type { NetworkFunction, NfContext } from './network-function';

export const NAT_CONFIG = schema.object({
  externalIp: schema.ipv4({ default: '10.1.0.1', describe: 'the external IPv4 address LAN hosts appear as' }), // wan's gateway in docs/lab.md
  startPort: schema.port({ min: 1, default: 1024, describe: 'first external port (and ICMP identifier) allocated' }), // above the well-known ports
  endPort: schema.port({ min: 1, default: 65535, describe: 'last external port allocated' }),
  capacity: schema.integer({ min: 1, max: 1 << 24, default: 65_536, describe: 'mappings at most' }),
  expiryNs: schema.number({ positive: true, default: 10_000_000_000, describe: 'forget mappings idle this long (ns)' }), // 10 s as our other NFs
  maxPortsPerHost: schema.integer({ min: 0, max: 65535, default: 0, describe: 'external ports one LAN host may hold at once (0: no limit)' }),
});

export type NatConfig = Infer<typeof NAT_CONFIG>;

/** The defaults of every field (NAT_CONFIG). */
export const NAT_DEFAULTS: NatConfig = NAT_CONFIG.parse({}, '');

// Protocol numbers, ICMP types and header sizes/offsets come from the packet library (src/nf/lib/ipv4.ts, icmp.ts,
// transport.ts).

/** Candidate external ports looked at per new mapping: bounds the cost of a packet when ports are scarce. */
export const PORT_PROBES = 64;
/** RFC 6056 Algorithm 4's table of counters (a power of two). */
const PORT_COUNTERS = 4096;

export function createNat(config: NatConfig, ctx: NfContext): NetworkFunction {
  if (ctx.ports !== 2) throw new TinyNfError(`the nat has two ports (LAN 0, WAN 1), got ${ctx.ports}`);
  const externalIp = config.externalIp;
  const startPort = config.startPort;
  const portCount = config.endPort - config.startPort + 1;
  const expiryNs = config.expiryNs;
  const quota = config.maxPortsPerHost > 0 ? new QuotaLink(new SourceQuota(config.maxPortsPerHost, config.capacity), config.capacity) : null;
  // The clock, set once per packet; the table reads it too (FlowTable.time). Functions below read it rather than
  // take the time as an argument: a double passed to a function V8 does not inline is boxed (an allocation).
  const time = new Float64Array(1);
  // A mapping leaving the table (expiry, sweep) frees its port at once, and its source's quota.
  const quotaListener = quota === null ? null : quota.listener;
  const onRemove = (id: number): void => {
    const index = slotPort[id];
    if (index >= 0 && portOwner[index] === id) {
      portOwner[index] = -1;
      portsInUse--;
    }
    slotPort[id] = -1;
    if (quotaListener !== null) quotaListener(id);
  };
  const table = new FlowTable(config.capacity, expiryNs, undefined, onRemove, time);
  const slots = table.capacity;
  // Per table slot: the mapping (the LAN 5-tuple is also the table key) and its external port index.
  const internalIp = new Uint32Array(slots);
  const internalPort = new Uint16Array(slots);
  const remoteIp = new Uint32Array(slots);
  const remotePort = new Uint16Array(slots);
  const protocol = new Uint8Array(slots);
  /** External port index (port - startPort) of the mapping in the slot, -1 = none. */
  const slotPort = new Int32Array(slots).fill(-1);
  /**
   * Last use of the slot's mapping, the same value the flow table keeps: the table expires entries by the same rule
   * (now - lastUse > expiryNs), so a mapping this says is expired is expired (or already gone) in the table too.
   */
  const lastUse = new Float64Array(slots);
  /** Per external port index: the mapping (table id) holding it, -1 = free. */
  const portOwner = new Int32Array(portCount).fill(-1);
  /** Ports with an owner (dead owners not yet swept included): all taken = refuse at once, no search. */
  let portsInUse = 0;
  // RFC 6056 Algorithm 4 ("double-hash port selection"): offset = F(tuple, key1), counters[G(tuple, key2)]++;
  // keys drawn per NAT, so a port says nothing about the next one given to another destination.
  const portKey1 = randomSecret();
  const portKey2 = randomSecret();
  const portCounters = new Int32Array(PORT_COUNTERS);
  const clock = ctx.clock;

  const c = {
    // LAN -> WAN
    translated_out: 0,
    table_full: 0,
    port_exhausted: 0,
    quota_refused: 0,
    // WAN -> LAN
    translated_in: 0,
    wrong_destination: 0,
    no_mapping: 0,
    // either way
    non_ipv4: 0,
    malformed: 0,
    bad_checksum: 0,
    fragment: 0,
    unsupported: 0,
  };

  /**
   * Take a free external port index for mapping `id` (LAN source, remote address and port, protocol), or -1: RFC 6056
   * Algorithm 4 (section 3.3.4), looking at most PORT_PROBES candidates. A port whose mapping is dead but not yet
   * swept is free (it is taken over).
   */
  const allocatePort = (id: number, src: number, dst: number, dstPort: number, proto: number): number => {
    const offset = keyedHash(src, dst, dstPort, proto, portKey1) >>> 0;
    const g = keyedHash(src, dst, dstPort, proto, portKey2) & (PORT_COUNTERS - 1);
    for (let i = 0; i < PORT_PROBES && i < portCount; i++) {
      const candidate = ((offset + portCounters[g]) >>> 0) % portCount;
      portCounters[g] = (portCounters[g] + 1) | 0;
      const owner = portOwner[candidate];
      if (owner < 0) {
        portsInUse++;
      } else if (time[0] - lastUse[owner] > expiryNs) {
        slotPort[owner] = -1; // taken over from a dead mapping (the sweep will remove it)
      } else {
        continue;
      }
      portOwner[candidate] = id;
      slotPort[id] = candidate;
      return candidate;
    }
    return -1;
  };

  /**
   * Common checks; returns the L4 offset of a translatable IPv4 packet, or 0 after counting the drop. The L4 header
   * must be complete within the IPv4 total length.
   */
  const l4Offset = (data: DataView, length: number): number => {
    if (length < ETH_HEADER || data.getUint16(ETH_TYPE) !== ETHERTYPE_IPV4) {
      c.non_ipv4++;
      return 0;
    }
    const ihl = ipv4HeaderLength(data, length);
    if (ihl === 0) {
      c.malformed++;
      return 0;
    }
    if (!ipv4HeaderChecksumValid(data, ETH_HEADER, ihl)) {
      c.bad_checksum++; // RFC 1812 5.2.2: verify before rewriting (L4 checksums are not verified: see the top)
      return 0;
    }
    if ((data.getUint16(IP_FLAGS_FRAGMENT) & 0x3fff) !== 0) {
      c.fragment++; // MF set or offset != 0
      return 0;
    }
    const proto = data.getUint8(IP_PROTOCOL);
    const l4Length = data.getUint16(IP_TOTAL_LENGTH) - ihl;
    const min = proto === IP_PROTO_TCP ? TCP_MIN : proto === IP_PROTO_UDP ? UDP_MIN : proto === IP_PROTO_ICMP ? ICMP_ECHO_MIN : -1;
    if (min < 0) {
      c.unsupported++;
      return 0;
    }
    if (l4Length < min) {
      c.malformed++;
      return 0;
    }
    return ETH_HEADER + ihl;
  };

  const lanToWan: PacketHandler = (_packet, data, length, outputs) => {
    const now = clock.nowNs();
    time[0] = now;
    table.tick(); // the clock-paced sweep of idle entries
    const l4 = l4Offset(data, length);
    if (l4 === 0) return 0;
    const proto = data.getUint8(IP_PROTOCOL);
    // ports = source port << 16 | destination port; ICMP echo: identifier << 16 (the identifier plays the port)
    let ports: number;
    if (proto === IP_PROTO_ICMP) {
      if (data.getUint8(l4) !== ICMP_ECHO_REQUEST) {
        c.unsupported++;
        return 0;
      }
      ports = (data.getUint16(l4 + ICMP_IDENTIFIER) << 16) >>> 0;
    } else {
      ports = data.getUint32(l4);
    }
    const src = data.getUint32(IP_SRC);
    const dst = data.getUint32(IP_DST);
    // keys as int32 (`| 0`): a uint32 above 2^31 passed to a function V8 does not inline would be a boxed double
    let slot: number;
    let isNew: boolean;
    if (portsInUse >= portCount) {
      // every port taken: only existing mappings pass, and a refused packet costs a lookup, nothing more (ports of
      // dead mappings come back as the table's sweep removes them)
      slot = table.find(src | 0, dst | 0, ports | 0, proto, true);
      if (slot < 0) {
        c.port_exhausted++;
        return 0;
      }
      isNew = false;
    } else {
      slot = table.findOrInsert(src | 0, dst | 0, ports | 0, proto, true);
      if (slot < 0) {
        c.table_full++;
        return 0;
      }
      isNew = table.isNew;
    }
    let index: number;
    if (isNew) {
      if (quota !== null && !quota.admit(slot, src | 0, 0, 0, 0)) {
        table.remove(slot);
        c.quota_refused++;
        return 0;
      }
      index = allocatePort(slot, src | 0, dst | 0, ports & 0xffff, proto);
      if (index < 0) {
        table.remove(slot);
        c.port_exhausted++;
        return 0;
      }
      internalIp[slot] = src;
      internalPort[slot] = ports >>> 16;
      remoteIp[slot] = dst;
      remotePort[slot] = ports & 0xffff;
      protocol[slot] = proto;
    } else {
      index = slotPort[slot];
    }
    lastUse[slot] = now; // as the table stores it
    const oldPort = ports >>> 16;
    const newPort = startPort + index;
    // addresses passed as int32 (`| 0`; the checksum arithmetic takes either): a uint32 above 2^31 would be a
    // double, boxed when passed to a function V8 does not inline
    data.setUint16(IP_CHECKSUM, checksumReplace32(data.getUint16(IP_CHECKSUM), src | 0, externalIp | 0));
    data.setUint32(IP_SRC, externalIp);
    if (proto === IP_PROTO_TCP) {
      const at = l4 + TCP_CHECKSUM;
      data.setUint16(at, checksumReplaceAddressPort(data.getUint16(at), src | 0, oldPort, externalIp | 0, newPort));
      data.setUint16(l4, newPort);
    } else if (proto === IP_PROTO_UDP) {
      const at = l4 + UDP_CHECKSUM;
      const checksum = data.getUint16(at);
      if (checksum !== 0) data.setUint16(at, udpChecksumField(checksumReplaceAddressPort(checksum, src | 0, oldPort, externalIp | 0, newPort)));
      data.setUint16(l4, newPort);
    } else {
      const at = l4 + ICMP_CHECKSUM; // ICMP has no pseudo-header: only the identifier changes its sum
      data.setUint16(at, checksumReplace16(data.getUint16(at), oldPort, newPort));
      data.setUint16(l4 + ICMP_IDENTIFIER, newPort);
    }
    c.translated_out++;
    outputs[0] = 1;
    return length;
  };

  const wanToLan: PacketHandler = (_packet, data, length, outputs) => {
    const now = clock.nowNs();
    time[0] = now;
    table.tick();
    const l4 = l4Offset(data, length);
    if (l4 === 0) return 0;
    const dst = data.getUint32(IP_DST);
    if (dst !== externalIp) {
      c.wrong_destination++;
      return 0;
    }
    const proto = data.getUint8(IP_PROTOCOL);
    let port: number;
    let fromPort: number;
    if (proto === IP_PROTO_ICMP) {
      if (data.getUint8(l4) !== ICMP_ECHO_REPLY) {
        c.unsupported++;
        return 0;
      }
      port = data.getUint16(l4 + ICMP_IDENTIFIER);
      fromPort = 0;
    } else {
      fromPort = data.getUint16(l4);
      port = data.getUint16(l4 + 2);
    }
    const src = data.getUint32(IP_SRC);
    const index = port - startPort;
    if (index < 0 || index >= portCount) {
      c.no_mapping++;
      return 0;
    }
    const slot = portOwner[index];
    if (slot < 0 || slotPort[slot] !== index || now - lastUse[slot] > expiryNs || protocol[slot] !== proto || remoteIp[slot] !== src || remotePort[slot] !== fromPort) {
      c.no_mapping++;
      return 0;
    }
    table.touch(slot);
    lastUse[slot] = now;
    const toIp = internalIp[slot];
    const toPort = internalPort[slot];
    data.setUint16(IP_CHECKSUM, checksumReplace32(data.getUint16(IP_CHECKSUM), externalIp | 0, toIp | 0));
    data.setUint32(IP_DST, toIp);
    if (proto === IP_PROTO_TCP) {
      const at = l4 + TCP_CHECKSUM;
      data.setUint16(at, checksumReplaceAddressPort(data.getUint16(at), externalIp | 0, port, toIp | 0, toPort));
      data.setUint16(l4 + 2, toPort);
    } else if (proto === IP_PROTO_UDP) {
      const at = l4 + UDP_CHECKSUM;
      const checksum = data.getUint16(at);
      if (checksum !== 0) data.setUint16(at, udpChecksumField(checksumReplaceAddressPort(checksum, externalIp | 0, port, toIp | 0, toPort)));
      data.setUint16(l4 + 2, toPort);
    } else {
      const at = l4 + ICMP_CHECKSUM;
      data.setUint16(at, checksumReplace16(data.getUint16(at), port, toPort));
      data.setUint16(l4 + ICMP_IDENTIFIER, toPort);
    }
    c.translated_in++;
    outputs[0] = 1;
    return length;
  };

  return {
    name: 'nat',
    outputPorts: [[1], [0]],
    handlers: [lanToWan, wanToLan],
    counters: () => ({ ...c, mappings: table.size }),
  };
}

// ---- configuration ----

export const NAT_DEFINITION = defineNf({
  name: 'nat',
  description: 'NAPT (RFC 3022): LAN (port 0) TCP/UDP/ICMP echo leave from the external IPv4 address and an allocated port; WAN (port 1) traffic passes only for known mappings',
  config: NAT_CONFIG,
  check: (c) => {
    if (c.endPort < c.startPort) throw new TinyNfError(`endPort (${c.endPort}) must not be below startPort (${c.startPort})`);
  },
  create: createNat,
  // WAN traffic = the replies of LAN's flows, made by a simulated peer from what the NAT transmits on WAN
  // (src/sim/wires/replies.ts): the external ports are keyed random (RFC 6056 Algorithm 4), so generated frames to
  // guessed ports would find no mapping; real replies find theirs (translated_in)
  traffic: (port) => (port === 1 ? { replies: true } : {}),
  /** Concurrent mappings possible: the table's capacity or the number of external ports, whichever is smaller. */
  capacity: (c) => Math.min(c.capacity, c.endPort - c.startPort + 1),
});
