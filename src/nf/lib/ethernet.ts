// Ethernet II (IEEE 802.3 Clause 3.1.1, DIX framing) and IEEE 802.1Q VLAN tags, including stacked tags (QinQ,
// IEEE 802.1ad S-tag 0x88a8 outside a C-tag 0x8100; the pre-standard 0x9100 is read as a tag too).
// Plain functions over the handler's DataView: offsets in, numbers out, nothing allocated. A frame here has no FCS.
import { TOO_MANY_VLAN_TAGS, TRUNCATED_ETHERNET, TRUNCATED_VLAN } from './malformed';

export const ETH_HEADER = 14;
export const ETH_DST = 0;
export const ETH_SRC = 6;
export const ETH_TYPE = 12;
/** Smallest frame without FCS on the wire (64 bytes with it). */
export const ETH_MIN_FRAME = 60;
/** Largest frame without FCS, no jumbo frames and no VLAN tag (1518 bytes with it). */
export const ETH_MAX_FRAME = 1514;

export const ETHERTYPE_IPV4 = 0x0800;
export const ETHERTYPE_ARP = 0x0806;
export const ETHERTYPE_IPV6 = 0x86dd;
export const ETHERTYPE_VLAN = 0x8100; // IEEE 802.1Q C-tag
export const ETHERTYPE_QINQ = 0x88a8; // IEEE 802.1ad S-tag
export const ETHERTYPE_QINQ_OLD = 0x9100; // pre-802.1ad QinQ (Cisco and others)
export const ETHERTYPE_TEB = 0x6558; // Transparent Ethernet Bridging (an Ethernet frame inside GRE/Geneve)

/** A VLAN tag: TPID (2 bytes) then TCI (PCP 3 bits, DEI 1 bit, VID 12 bits); the next EtherType follows. */
export const VLAN_TAG = 4;
/** Stacked tags the classifier reads at most. */
export const MAX_VLAN_TAGS = 4;

/** Whether an EtherType/TPID value introduces a VLAN tag. */
export function isVlanTpid(type: number): boolean {
  return type === ETHERTYPE_VLAN || type === ETHERTYPE_QINQ || type === ETHERTYPE_QINQ_OLD;
}

/** The VLAN ID (12 bits) of the tag whose TPID is at `tag`. */
export function vlanId(d: DataView, tag: number): number {
  return d.getUint16(tag + 2) & 0x0fff;
}

/** The priority code point (3 bits) of the tag whose TPID is at `tag`. */
export function vlanPcp(d: DataView, tag: number): number {
  return d.getUint8(tag + 2) >>> 5;
}

/** The upper 16 bits of the MAC address at `at` (bytes 0-1), for keying tables by MAC without allocation. */
export function macHigh16(d: DataView, at: number): number {
  return d.getUint16(at);
}

/** The lower 32 bits of the MAC address at `at` (bytes 2-5), unsigned. */
export function macLow32(d: DataView, at: number): number {
  return d.getUint32(at + 2);
}

/** Whether the MAC address at `at` is a group (multicast or broadcast) address: I/G bit of the first byte. */
export function isMulticastMac(d: DataView, at: number): boolean {
  return (d.getUint8(at) & 1) === 1;
}

/**
 * Skip the Ethernet header and any VLAN tags of a frame of `length` bytes: the offset of the L3 header, or a
 * malformed code (< 0). The EtherType after the tags is at offset - 2.
 */
export function ethernetPayload(d: DataView, length: number): number {
  if (length < ETH_HEADER) return TRUNCATED_ETHERNET;
  let at = ETH_HEADER;
  for (let tags = 0; isVlanTpid(d.getUint16(at - 2)); tags++) {
    if (tags === MAX_VLAN_TAGS) return TOO_MANY_VLAN_TAGS;
    if (at + VLAN_TAG > length) return TRUNCATED_VLAN;
    at += VLAN_TAG;
  }
  return at;
}
