// The firewall: stateful, after Vigor's firewall. Port 0 is the LAN (inside), port 1 the WAN (outside). Frames that
// pass are forwarded unchanged.
// - LAN -> WAN: IPv4 passes and opens (or refreshes) a flow keyed by its 5-tuple: addresses, protocol, and TCP/UDP
//   ports or the ICMP echo identifier; other IP protocols are keyed by addresses and protocol alone. ICMP other than
//   echo request passes untracked (it opens nothing). A new flow that finds the table full is dropped (table_full):
//   the firewall never lets a packet out whose replies it could not let back in. No TCP state machine: any LAN
//   segment opens a flow, and flows close only by expiry.
// - WAN -> LAN: a packet passes only if the reversed 5-tuple is a live flow opened from LAN (TCP/UDP: same ports
//   swapped; ICMP: an echo reply with the identifier of a LAN echo request; other protocols: the address pair);
//   everything else is dropped (no_flow), including ICMP errors and echo requests from WAN.
// - Both ways, dropped and counted: non-IPv4 (non_ipv4: what cannot be tracked is not let through), malformed IPv4
//   or L4 header (malformed), fragments (fragment: no reassembly, and a non-first fragment has no ports to match).
// - Flows idle for `expiryNs` expire; traffic either way keeps them.
// Time is the NF context's clock (a CoarseClock refreshed once per round of polls), read once per packet.
import { TinyNfError } from '../env/environment';
import type { PacketHandler } from '../ixgbe/handler';
import { defineNf } from './config';
import { Infer, schema } from './schema';
import { FlowTable } from './lib/flow-table';
import { ICMP_ECHO_REPLY, ICMP_ECHO_REQUEST, ICMP_HEADER as ICMP_MIN, ICMP_IDENTIFIER } from './lib/icmp';
import { IP_PROTO_ICMP } from './lib/ipv4';
import { TCP_MIN_HEADER as TCP_MIN, UDP_HEADER as UDP_MIN } from './lib/transport';
import { QuotaLink, SourceQuota } from './lib/source-quota';
import { ETHERTYPE_IPV4, ETH_HEADER, ETH_TYPE, IP_DST, IP_FLAGS_FRAGMENT, IP_PROTOCOL, IP_PROTO_TCP, IP_PROTO_UDP, IP_SRC, IP_TOTAL_LENGTH, ipv4HeaderLength } from './lib/packet';
import type { NetworkFunction, NfContext } from './network-function';

export const FIREWALL_CONFIG = schema.object({
  capacity: schema.integer({ min: 1, max: 1 << 24, default: 65_536, describe: 'flows tracked at most' }),
  expiryNs: schema.number({ positive: true, default: 10_000_000_000, describe: 'forget flows idle this long (ns)' }),
  maxFlowsPerSource: schema.integer({ min: 0, max: 1 << 24, default: 0, describe: 'flows one LAN source address may hold at once (0: no limit)' }),
});

export type FirewallConfig = Infer<typeof FIREWALL_CONFIG>;

export const FIREWALL_DEFAULTS: FirewallConfig = FIREWALL_CONFIG.parse({}, '');

// Smallest L4 header read (TCP 20 bytes, UDP 8, ICMP 8: type, code, checksum, id, seq) and the ICMP fields: from the
// packet library.

export function createFirewall(config: FirewallConfig, ctx: NfContext): NetworkFunction {
  if (ctx.ports !== 2) throw new TinyNfError(`the firewall has two ports (LAN 0, WAN 1), got ${ctx.ports}`);
  const quota = config.maxFlowsPerSource > 0 ? new QuotaLink(new SourceQuota(config.maxFlowsPerSource, config.capacity), config.capacity) : null;
  const time = new Float64Array(1); // the table's clock, set once per packet (see FlowTable.time)
  const table = new FlowTable(config.capacity, config.expiryNs, undefined, quota === null ? null : quota.listener, time);
  const clock = ctx.clock;
  const c = {
    // LAN -> WAN
    passed_out: 0,
    table_full: 0,
    quota_refused: 0,
    // WAN -> LAN
    passed_in: 0,
    no_flow: 0,
    // either way
    non_ipv4: 0,
    malformed: 0,
    fragment: 0,
  };

  /** Common checks: whether the frame is a trackable IPv4 packet (else the drop is counted). */
  const trackable = (data: DataView, length: number): boolean => {
    if (length < ETH_HEADER || data.getUint16(ETH_TYPE) !== ETHERTYPE_IPV4) {
      c.non_ipv4++;
      return false;
    }
    const ihl = ipv4HeaderLength(data, length);
    if (ihl === 0) {
      c.malformed++;
      return false;
    }
    if ((data.getUint16(IP_FLAGS_FRAGMENT) & 0x3fff) !== 0) {
      c.fragment++;
      return false;
    }
    const proto = data.getUint8(IP_PROTOCOL);
    const min = proto === IP_PROTO_TCP ? TCP_MIN : proto === IP_PROTO_UDP ? UDP_MIN : proto === IP_PROTO_ICMP ? ICMP_MIN : 0;
    if (data.getUint16(IP_TOTAL_LENGTH) - ihl < min) {
      c.malformed++;
      return false;
    }
    return true;
  };

  const lanToWan: PacketHandler = (_packet, data, length, outputs) => {
    time[0] = clock.nowNs();
    table.tick(); // the clock-paced sweep of idle entries
    if (!trackable(data, length)) return 0;
    const l4 = ETH_HEADER + (data.getUint8(ETH_HEADER) & 0x0f) * 4;
    const proto = data.getUint8(IP_PROTOCOL);
    let word: number; // the flow key's third word, as seen from LAN: source port << 16 | destination port
    if (proto === IP_PROTO_TCP || proto === IP_PROTO_UDP) {
      word = data.getUint32(l4);
    } else if (proto === IP_PROTO_ICMP) {
      if (data.getUint8(l4) !== ICMP_ECHO_REQUEST) {
        c.passed_out++; // passes, opens nothing
        outputs[0] = 1;
        return length;
      }
      word = data.getUint16(l4 + ICMP_IDENTIFIER);
    } else {
      word = 0;
    }
    const src = data.getInt32(IP_SRC); // keys as int32: a uint32 above 2^31 would be a (boxed) double
    const slot = table.findOrInsert(src, data.getInt32(IP_DST), word | 0, proto, true);
    if (slot < 0) {
      c.table_full++;
      return 0;
    }
    if (quota !== null && table.isNew && !quota.admit(slot, src, 0, 0, 0)) {
      table.remove(slot); // over its source's quota: as for a full table, nothing goes out that could not come back
      c.quota_refused++;
      return 0;
    }
    c.passed_out++;
    outputs[0] = 1;
    return length;
  };

  const wanToLan: PacketHandler = (_packet, data, length, outputs) => {
    time[0] = clock.nowNs();
    table.tick();
    if (!trackable(data, length)) return 0;
    const l4 = ETH_HEADER + (data.getUint8(ETH_HEADER) & 0x0f) * 4;
    const proto = data.getUint8(IP_PROTOCOL);
    let word: number; // the reversed flow's word: this packet's destination port << 16 | source port
    if (proto === IP_PROTO_TCP || proto === IP_PROTO_UDP) {
      const ports = data.getUint32(l4);
      word = (ports << 16) | (ports >>> 16);
    } else if (proto === IP_PROTO_ICMP) {
      if (data.getUint8(l4) !== ICMP_ECHO_REPLY) {
        c.no_flow++;
        return 0;
      }
      word = data.getUint16(l4 + ICMP_IDENTIFIER);
    } else {
      word = 0;
    }
    const slot = table.find(data.getInt32(IP_DST), data.getInt32(IP_SRC), word | 0, proto, true);
    if (slot < 0) {
      c.no_flow++;
      return 0;
    }
    c.passed_in++;
    outputs[0] = 1;
    return length;
  };

  return {
    name: 'firewall',
    outputPorts: [[1], [0]],
    handlers: [lanToWan, wanToLan],
    counters: () => ({ ...c, flows: table.size }),
  };
}

export const FIREWALL_DEFINITION = defineNf({
  name: 'firewall',
  description: 'stateful firewall: flows opened from LAN (port 0) are let back from WAN (port 1); everything else from WAN is dropped',
  config: FIREWALL_CONFIG,
  create: createFirewall,
  capacity: (c) => c.capacity,
  // WAN traffic = the replies of what the firewall let out, made by a simulated peer (src/sim/wires/replies.ts), so
  // they pass (passed_in). Generated frames shaped as replies (10.1.0.1:80 -> 10.0.0.1+k:1024) matched the firewall
  // alone, but not a chain that takes the firewall's traffic (firewall+nat: WAN must be the NAT's translated flows,
  // addressed to its external address and ports), and they came whether or not the flow had been let out
  traffic: (port) => (port === 1 ? { replies: true } : {}),
});
