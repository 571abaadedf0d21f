// An IPv4 router as a tinynf NF module: longest-prefix match on the destination address over the routes of its
// configuration, TTL decrement with an incremental header checksum update (RFC 1624), TTL-expired packets dropped
// (counted), and the Ethernet addresses rewritten for the next hop. Run it: npx tinynf run ./router.ts --sim
import { ETH_DST, ETH_HEADER, ETH_SRC, ETH_TYPE, ETHERTYPE_IPV4, IP_CHECKSUM, IP_DST, checksumReplace16, defineNf, ipv4HeaderLength, schema } from 'tinynf';
import type { Infer, NetworkFunction, NfContext, PacketHandler } from 'tinynf';

/** Byte offset of the TTL in an Ethernet + IPv4 frame (the protocol follows it in the same 16-bit word). */
const IP_TTL = ETH_HEADER + 8;

export const ROUTER_CONFIG = schema.object({
  routes: schema.list(
    schema.object({
      prefix: schema.cidr({ describe: 'destination prefix, e.g. 10.1.0.0/16' }),
      port: schema.integer({ min: 0, max: 1, describe: 'output port (0 LAN, 1 WAN)' }),
      nextHopMac: schema.mac({ describe: 'Ethernet address of the next hop on that port' }),
    }),
    {
      default: [
        { prefix: '10.0.0.0/16', port: 0, nextHopMac: '02:00:00:00:00:0a' },
        { prefix: '10.1.0.0/16', port: 1, nextHopMac: '02:00:00:00:00:0b' },
      ],
      describe: 'the routing table',
    },
  ),
  portMacs: schema.list(schema.mac(), { default: ['02:00:00:00:01:00', '02:00:00:00:01:01'], minLength: 2, maxLength: 2, describe: "the router's own address on each port" }),
});

/** Longest-prefix match over a small table: routes sorted by prefix length, longest first, then a linear scan. */
export class PrefixTable {
  private readonly networks: Uint32Array;
  private readonly masks: Uint32Array;
  private readonly values: Int32Array;

  constructor(entries: readonly { address: number; prefixLength: number; value: number }[]) {
    const sorted = [...entries].sort((a, b) => b.prefixLength - a.prefixLength);
    this.networks = Uint32Array.from(sorted.map((e) => e.address));
    this.masks = Uint32Array.from(sorted.map((e) => (e.prefixLength === 0 ? 0 : (0xffffffff << (32 - e.prefixLength)) >>> 0)));
    this.values = Int32Array.from(sorted.map((e) => e.value));
  }

  /** The value of the longest prefix containing `address`, or -1. */
  lookup(address: number): number {
    const n = this.networks.length;
    for (let i = 0; i < n; i++) {
      if (((address & this.masks[i]) >>> 0) === this.networks[i]) return this.values[i];
    }
    return -1;
  }
}

export type RouterConfig = Infer<typeof ROUTER_CONFIG>;

export function createRouter(config: RouterConfig, ctx: NfContext): NetworkFunction {
  const routes = config.routes;
  const table = new PrefixTable(routes.map((r, i) => ({ address: r.prefix.address, prefixLength: r.prefix.prefixLength, value: i })));
  const routePort = Int32Array.from(routes.map((r) => r.port));
  const routeMac = routes.map((r) => r.nextHopMac);
  const c = { routed: 0, ttl_expired: 0, no_route: 0, not_ipv4: 0, malformed: 0 };
  void ctx;

  const handler: PacketHandler = (packet, data, length, outputs) => {
    if (length < ETH_HEADER || data.getUint16(ETH_TYPE) !== ETHERTYPE_IPV4) {
      c.not_ipv4++;
      return 0;
    }
    if (ipv4HeaderLength(data, length) === 0) {
      c.malformed++;
      return 0;
    }
    const ttl = packet[IP_TTL];
    if (ttl <= 1) {
      c.ttl_expired++; // RFC 1812 Section 5.3.1: not forwarded (no ICMP Time Exceeded here)
      return 0;
    }
    const route = table.lookup(data.getUint32(IP_DST));
    if (route < 0) {
      c.no_route++;
      return 0;
    }
    // TTL - 1 and the checksum updated for the 16-bit word TTL|protocol (RFC 1624 eqn. 3)
    const oldWord = data.getUint16(IP_TTL);
    packet[IP_TTL] = ttl - 1;
    data.setUint16(IP_CHECKSUM, checksumReplace16(data.getUint16(IP_CHECKSUM), oldWord, data.getUint16(IP_TTL)));
    const port = routePort[route];
    packet.set(routeMac[route], ETH_DST);
    packet.set(config.portMacs[port], ETH_SRC);
    c.routed++;
    outputs[port] = 1;
    return length;
  };

  return {
    name: 'router',
    // packets from either port may be routed to either port: outputs[0] = port 0, outputs[1] = port 1
    outputPorts: [
      [0, 1],
      [0, 1],
    ],
    handlers: [handler, handler],
    counters: () => ({ ...c }),
  };
}

export default defineNf({
  name: 'router',
  description: 'IPv4 router: longest-prefix match, TTL decrement (RFC 1624 checksum update), next-hop MAC rewrite',
  config: ROUTER_CONFIG,
  create: createRouter,
});
