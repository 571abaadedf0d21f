// The "malformed" results of the header views and the classifier: negative numbers (a view returns a header length
// > 0, or one of these), each with a sentence for counters, logs and `tinynf decode`. A view never throws and never
// reads outside [0, length) of the frame: every read is preceded by a bounds check that produces one of these.

export const OK = 0;
export const TRUNCATED_ETHERNET = -1;
export const TRUNCATED_VLAN = -2;
export const TOO_MANY_VLAN_TAGS = -3;
export const TRUNCATED_ARP = -4;
export const BAD_ARP = -5;
export const TRUNCATED_IPV4 = -6;
export const BAD_IPV4_VERSION = -7;
export const BAD_IPV4_IHL = -8;
export const BAD_IPV4_TOTAL_LENGTH = -9;
export const BAD_IPV4_OPTIONS = -10;
export const TRUNCATED_IPV6 = -11;
export const BAD_IPV6_VERSION = -12;
export const BAD_IPV6_PAYLOAD_LENGTH = -13;
export const TRUNCATED_IPV6_EXTENSION = -14;
export const TOO_MANY_IPV6_EXTENSIONS = -15;
export const TRUNCATED_UDP = -16;
export const BAD_UDP_LENGTH = -17;
export const TRUNCATED_TCP = -18;
export const BAD_TCP_DATA_OFFSET = -19;
export const BAD_TCP_OPTIONS = -20;
export const TRUNCATED_ICMP = -21;
export const TRUNCATED_TUNNEL = -22;
export const BAD_TUNNEL = -23;
export const TRUNCATED_SCTP = -24;

const REASONS: Record<number, string> = {
  [OK]: 'ok',
  [TRUNCATED_ETHERNET]: 'frame shorter than the 14-byte Ethernet header',
  [TRUNCATED_VLAN]: 'frame ends inside a VLAN tag',
  [TOO_MANY_VLAN_TAGS]: 'more stacked VLAN tags than the classifier reads (4)',
  [TRUNCATED_ARP]: 'frame ends inside the ARP message',
  [BAD_ARP]: 'ARP hardware/protocol address lengths are not Ethernet/IPv4 (6/4)',
  [TRUNCATED_IPV4]: 'frame ends inside the IPv4 header',
  [BAD_IPV4_VERSION]: 'IPv4 version field is not 4',
  [BAD_IPV4_IHL]: 'IPv4 header length (IHL) below 5 words or beyond the frame',
  [BAD_IPV4_TOTAL_LENGTH]: 'IPv4 total length below the header length or beyond the frame',
  [BAD_IPV4_OPTIONS]: 'IPv4 option list is malformed (an option length runs past the header)',
  [TRUNCATED_IPV6]: 'frame ends inside the IPv6 header',
  [BAD_IPV6_VERSION]: 'IPv6 version field is not 6',
  [BAD_IPV6_PAYLOAD_LENGTH]: 'IPv6 payload length beyond the frame (or 0: jumbograms are not supported)',
  [TRUNCATED_IPV6_EXTENSION]: 'an IPv6 extension header runs past the payload',
  [TOO_MANY_IPV6_EXTENSIONS]: 'more IPv6 extension headers than the walk allows (8)',
  [TRUNCATED_UDP]: 'packet ends inside the UDP header',
  [BAD_UDP_LENGTH]: 'UDP length below 8 or beyond the IP payload',
  [TRUNCATED_TCP]: 'packet ends inside the TCP header',
  [BAD_TCP_DATA_OFFSET]: 'TCP data offset below 5 words or beyond the IP payload',
  [BAD_TCP_OPTIONS]: 'TCP option list is malformed (an option length runs past the header)',
  [TRUNCATED_ICMP]: 'packet ends inside the ICMP header',
  [TRUNCATED_TUNNEL]: 'packet ends inside a VXLAN/GRE/Geneve header',
  [BAD_TUNNEL]: 'VXLAN/GRE/Geneve header has a bad version or length',
  [TRUNCATED_SCTP]: 'packet ends inside the SCTP common header',
};

/** The sentence for a malformed code (e.g. from classify()). */
export function malformedReason(code: number): string {
  return REASONS[code] ?? `unknown result ${code}`;
}

/** A short name for counters/JSON: the constant's name in lower case (e.g. "bad_ipv4_ihl"). */
export function malformedName(code: number): string {
  return NAMES[code] ?? `code_${-code}`;
}

const NAMES: Record<number, string> = {};
for (const [name, value] of Object.entries({
  OK, TRUNCATED_ETHERNET, TRUNCATED_VLAN, TOO_MANY_VLAN_TAGS, TRUNCATED_ARP, BAD_ARP, TRUNCATED_IPV4, BAD_IPV4_VERSION,
  BAD_IPV4_IHL, BAD_IPV4_TOTAL_LENGTH, BAD_IPV4_OPTIONS, TRUNCATED_IPV6, BAD_IPV6_VERSION, BAD_IPV6_PAYLOAD_LENGTH,
  TRUNCATED_IPV6_EXTENSION, TOO_MANY_IPV6_EXTENSIONS, TRUNCATED_UDP, BAD_UDP_LENGTH, TRUNCATED_TCP, BAD_TCP_DATA_OFFSET,
  BAD_TCP_OPTIONS, TRUNCATED_ICMP, TRUNCATED_TUNNEL, BAD_TUNNEL, TRUNCATED_SCTP,
})) {
  NAMES[value] = name.toLowerCase();
}
