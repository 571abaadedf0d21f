// The simulator's own excerpt of the Intel 82599 data sheet: BAR0 register offsets (bytes), fields, reset values
// and descriptor bits. Deliberately independent of src/ixgbe (the simulator knows the data sheet, not our driver).
// "Section x.y.z" = Intel 82599 10 GbE Controller Datasheet. Reset values marked GUESS are not given by our sources
// (see docs/simulator.md, "Reset values"); only the bits drivers rely on are certain.

/** Section 8.1: the register space. We expose 512 KiB per port (128 KiB registers + room for flash/MSI-X). */
export const BAR0_BYTES = 0x80000;
export const BAR0_WORDS = BAR0_BYTES / 4;

export const RX_QUEUES = 128;
export const TX_QUEUES = 128;

function bit(n: number): number {
  return (1 << n) >>> 0;
}

// ---------------- Queue register blocks (Section 8.2.2 Registers Summary) ----------------

/** Receive queue n: 0..63 at 0x01000 + 0x40*n, 64..127 at 0x0D000 + 0x40*(n-64). */
export function rxQueueBase(n: number): number {
  return n < 64 ? 0x01000 + 0x40 * n : 0x0d000 + 0x40 * (n - 64);
}
/** Transmit queue n at 0x06000 + 0x40*n. */
export function txQueueBase(n: number): number {
  return 0x06000 + 0x40 * n;
}

// Offsets inside a receive queue block
export const RDBAL_OFF = 0x00; // Section 8.2.3.8.1 Receive Descriptor Base Address Low
export const RDBAH_OFF = 0x04; // Section 8.2.3.8.2 Receive Descriptor Base Address High
export const RDLEN_OFF = 0x08; // Section 8.2.3.8.3 Receive Descriptor Length
export const DCA_RXCTRL_OFF = 0x0c; // Section 8.2.3.11.1 Rx DCA Control Register
export const RDH_OFF = 0x10; // Section 8.2.3.8.4 Receive Descriptor Head
export const SRRCTL_OFF = 0x14; // Section 8.2.3.8.7 Split Receive Control Registers
export const RDT_OFF = 0x18; // Section 8.2.3.8.5 Receive Descriptor Tail
export const RXDCTL_OFF = 0x28; // Section 8.2.3.8.6 Receive Descriptor Control

/** Section 8.2.2: SRRCTL(0..15) are also at 0x02100 + 4n (the address ixgbe drivers use). */
export const SRRCTL_ALIAS_BASE = 0x02100;
/** Section 8.2.2: DCA_RXCTRL(0..15) are also at 0x02200 + 4n. */
export const DCA_RXCTRL_ALIAS_BASE = 0x02200;
export const ALIASED_RX_QUEUES = 16;

// Offsets inside a transmit queue block
export const TDBAL_OFF = 0x00; // Section 8.2.3.9.5 Transmit Descriptor Base Address Low
export const TDBAH_OFF = 0x04; // Section 8.2.3.9.6 Transmit Descriptor Base Address High
export const TDLEN_OFF = 0x08; // Section 8.2.3.9.7 Transmit Descriptor Length
export const DCA_TXCTRL_OFF = 0x0c; // Section 8.2.3.11.2 Tx DCA Control Registers
export const TDH_OFF = 0x10; // Section 8.2.3.9.8 Transmit Descriptor Head
export const TDT_OFF = 0x18; // Section 8.2.3.9.9 Transmit Descriptor Tail
export const TXDCTL_OFF = 0x28; // Section 8.2.3.9.10 Transmit Descriptor Control
export const TDWBAL_OFF = 0x38; // Section 8.2.3.9.11 Tx Descriptor Completion Write Back Address Low
export const TDWBAH_OFF = 0x3c; // Section 8.2.3.9.11 ... High

// Section 8.2.3.8.6 RXDCTL / Section 8.2.3.9.10 TXDCTL
export const XDCTL_ENABLE = bit(25);
// Section 8.2.3.8.7 SRRCTL fields
export const SRRCTL_BSIZEPACKET_MASK = 0x1f; // bits 4:0, in KB
export const SRRCTL_DESCTYPE_SHIFT = 25; // bits 27:25
export const SRRCTL_DESCTYPE_MASK = 0x7 << 25;
export const SRRCTL_DESCTYPE_LEGACY = 0;
export const SRRCTL_DESCTYPE_ADVANCED_ONE_BUFFER = 1;
export const SRRCTL_DROP_EN = bit(28);
// GUESS (U1): BSIZEPACKET = 2 KB, BSIZEHEADER (13:8) = 4 (256 B)
export const SRRCTL_RESET = 0x00000402;
// Section 8.2.3.11.1: bit 12 "Default 1b; Reserved. Must be set to 0". GUESS: the other bits reset to 0.
export const DCA_RXCTRL_BIT12 = bit(12);
export const DCA_RXCTRL_RESET = DCA_RXCTRL_BIT12;
// Section 8.2.3.11.2: bit 11 TX_DESC_WB_RO_EN (relaxed ordering of write-backs). GUESS: resets to 1.
export const DCA_TXCTRL_TX_DESC_WB_RO_EN = bit(11);
export const DCA_TXCTRL_RESET = DCA_TXCTRL_TX_DESC_WB_RO_EN;
// Section 8.2.3.9.11 TDWBAL: bit 0 Head_WB_En, bits 31:2 address
export const TDWBAL_HEAD_WB_EN = bit(0);

// ---------------- Global registers ----------------

// Section 8.2.3.1.1 Device Control Register
export const CTRL = 0x00000;
export const CTRL_MASTER_DISABLE = bit(2);
export const CTRL_LNK_RST = bit(3);
export const CTRL_RST = bit(26);
// Section 8.2.3.1.2 Device Status Register: bits 3:2 LAN ID, bit 19 PCIe Master Enable Status
export const STATUS = 0x00008;
export const STATUS_LAN_ID_SHIFT = 2;
export const STATUS_PCIE_MASTER_ENABLE_STATUS = bit(19);
// Section 8.2.3.1.3 Extended Device Control Register
export const CTRL_EXT = 0x00018;
// Section 8.2.3.5.1 Extended Interrupt Cause Register (clear on read: not modelled, never set)
export const EICR = 0x00800;
// Section 8.2.3.5.3 Extended Interrupt Mask Set/Read Register (write 1 to set)
export const EIMS = 0x00880;
// Section 8.2.3.5.4 / 8.2.3.5.9 Extended Interrupt Mask Clear Registers (write 1 to clear the EIMS bit)
export const EIMC = 0x00888;
export const EIMC1 = 0x00ab0;
export const EIMC2 = 0x00ab4;
// Section 8.2.3.5.8 EIMS_EX(1), EIMS_EX(2)
export const EIMS_EX1 = 0x00aa0;
export const EIMS_EX2 = 0x00aa4;
// Section 8.2.3.2.1 EEPROM/Flash Control Register
export const EEC = 0x10010;
export const EEC_EE_PRES = bit(8);
export const EEC_AUTO_RD = bit(9);
// Section 8.2.3.4.10 Firmware Semaphore Register: bits 24:19 EXT_ERR_IND (0 = no error)
export const FWSM = 0x10148;
// Section 8.2.3.4.12 PCIe Control Extended Register
export const GCR_EXT = 0x11050;
// Section 8.2.3.22.8 MAC Core Control 0 Register
export const HLREG0 = 0x04240;
export const HLREG0_TXCRCEN = bit(0);
export const HLREG0_RXCRCSTRP = bit(1);
/** Section 8.2.3.22.8: Jumbo Frame Enable (frames up to MAXFRS.MFS are received; without it, up to 1518 bytes). */
export const HLREG0_JUMBOEN = bit(2);
export const HLREG0_TXPADEN = bit(10);
export const HLREG0_LPBK = bit(15);
// GUESS (U1): only bits 0, 1 and 10 are known to reset to 1.
export const HLREG0_RESET = (HLREG0_TXCRCEN | HLREG0_RXCRCSTRP | HLREG0_TXPADEN) >>> 0;
// Section 8.2.3.22.19 Auto Negotiation Control Register: bit 12 AN_RESTART (self-clearing), LMS 15:13
export const AUTOC = 0x042a0;
export const AUTOC_AN_RESTART = bit(12);
// GUESS (U1): the EEPROM loads LMS = 011b (10 GbE serial link)
export const AUTOC_RESET = 0x3 << 13;
// Section 8.2.3.22.20 Link Status Register: bit 30 LINK_UP, bits 29:28 LINK_SPEED (11b = 10 GbE), bit 7 link status
export const LINKS = 0x042a4;
export const LINKS_UP_10G = (bit(30) | (0x3 << 28) | bit(7)) >>> 0;
// Section 8.2.3.22.34 MAC Flow Control Register
export const MFLCN = 0x04294;
// Section 8.2.3.3.7 Flow Control Configuration
export const FCCFG = 0x03d00;
// Section 8.2.3.3.4 Flow Control Receive Threshold High: bits 18:5 RTH
export function FCRTH(n: number): number {
  return 0x03260 + 4 * n;
}
export const FCRTH_RTH_MASK = 0x3fff << 5;
// Section 8.2.3.8.9 Receive Packet Buffer Size (SIZE in KB at bits 19:10): PB0 = 512 KB, others 0
export function RXPBSIZE(n: number): number {
  return 0x03c00 + 4 * n;
}
export const RXPBSIZE0_RESET = 0x200 << 10;
export const RXPBSIZE_SIZE_SHIFT = 10;
export const RXPBSIZE_SIZE_MASK = 0x3ff;
// Section 8.2.3.8.10 Receive Control Register
export const RXCTRL = 0x03000;
export const RXCTRL_RXEN = bit(0);
// Section 8.2.3.8.8 Receive DMA Control Register
export const RDRXCTL = 0x02f00;
export const RDRXCTL_CRCSTRIP = bit(1);
export const RDRXCTL_DMAIDONE = bit(3);
export const RDRXCTL_RSCFRSTSIZE_MASK = 0x1f << 17;
// GUESS (U1): RSCFRSTSIZE resets to a non-zero value (0x8); CRCStrip resets to 0 (the reference's note).
export const RDRXCTL_RESET = 0x8 << 17;
// Section 8.2.3.7.1 Filter Control Register
export const FCTRL = 0x05080;
export const FCTRL_MPE = bit(8);
export const FCTRL_UPE = bit(9);
export const FCTRL_BAM = bit(10);
// Section 8.2.3.7.7 Multicast Table Array (storage only; the hash filter is not modelled)
export function MTA(n: number): number {
  return 0x05200 + 4 * n;
}
// Section 8.2.3.7.8 / 8.2.3.7.9 Receive Address Low/High (entries 0..15 at 0x05400 + 8n)
export function RAL(n: number): number {
  return n < 16 ? 0x05400 + 8 * n : 0x0a200 + 8 * n;
}
export function RAH(n: number): number {
  return RAL(n) + 4;
}
export const RAH_AV = bit(31);
export const RECEIVE_ADDRESSES = 128;
// Section 8.2.3.12.5 Security Rx Control / Section 8.2.3.12.6 Security Rx Status
export const SECRXCTRL = 0x08d00;
export const SECRXCTRL_RX_DIS = bit(1);
export const SECRXSTAT = 0x08d04;
export const SECRXSTAT_SECRX_RDY = bit(0);
// Section 8.2.3.9.2 DMA Tx Control
export const DMATXCTL = 0x04a80;
export const DMATXCTL_TE = bit(0);
// Section 8.2.3.9.1 DMA Tx TCP Max Allow Size Requests (storage)
export const DTXMXSZRQ = 0x08100;
// Section 8.2.3.9.13 Transmit Packet Buffer Size: PB0 = 160 KB (0xA0), others 0
export function TXPBSIZE(n: number): number {
  return 0x0cc00 + 4 * n;
}
export const TXPBSIZE0_RESET = 0xa0 << 10;
// Section 8.2.3.9.16 Tx Packet Buffer Threshold: 0x96 for PB0
export function TXPBTHRESH(n: number): number {
  return 0x04950 + 4 * n;
}
export const TXPBTHRESH0_RESET = 0x96;
// Section 8.2.3.10.2 DCB Transmit Descriptor Plane Control and Status / 8.2.3.10.13 RTTDQSEL / 8.2.3.10.14 RTTDT1C
export const RTTDCS = 0x04900;
export const RTTDCS_ARBDIS = bit(6);
export const RTTDQSEL = 0x04904;
export const RTTDT1C = 0x04908;

// ---------------- Statistics (Section 8.2.3.23) ----------------
// Real hardware clears them on read; a polled register file cannot see reads, so they count since reset.
export const GPRC = 0x04074; // Section 8.2.3.23.18 Good Packets Received Count
/**
 * Section 8.2.3.23 Statistics: RUC Receive Undersize Count (0x040A4, offset as IXGBE_RUC in ixgbe_type.h): frames
 * that passed address filtering, were shorter than 64 bytes from the destination address through the CRC, and had
 * a valid CRC; counted only while receive is enabled. Such frames are not stored (FCTRL.SBP is not modelled).
 */
export const RUC = 0x040a4;
/** Section 8.2.3.23.7 Receive Oversize Count: frames longer than the maximum, with a good CRC (RC). */
export const ROC = 0x040a8;
/** Section 8.2.3.23.5 Receive Length Error Count: frames of a length that is not allowed (RC). */
export const RLEC = 0x04040;
/** Section 8.2.3.22.13 Max Frame Size: MFS in bits 31:16 (bytes with the FCS), used with HLREG0.JUMBOEN. */
export const MAXFRS = 0x04268;
export const MAXFRS_MFS_SHIFT = 16;
/** Section 8.2.3.22.13: MFS reset value 0x5EE (1518 bytes: the standard maximum frame with the FCS). */
export const MAXFRS_RESET = 0x05ee << 16;
/** IEEE 802.3 maximum untagged frame, with the FCS: what is accepted without HLREG0.JUMBOEN (Section 8.2.3.22.8). */
export const STANDARD_MAX_FRAME_WITH_FCS = 1518;
export const GPTC = 0x04080; // Section 8.2.3.23.20 Good Packets Transmitted Count
export const GORCL = 0x04088; // Section 8.2.3.23.22 Good Octets Received Count Low
export const GORCH = 0x0408c; // (high: bits 3:0, 36-bit counter)
export const GOTCL = 0x04090; // Section 8.2.3.23.24 Good Octets Transmitted Count Low
export const GOTCH = 0x04094;
/** Section 8.2.3.23.4 Missed Packets Count (per packet buffer; we use MPC(0)). */
export function MPC(n: number): number {
  return 0x03fa0 + 4 * n;
}
/** Section 8.2.3.23.x Queue Packets Received Drop Count (QPRDC(n) at 0x01430 + 0x40n). */
export function QPRDC(n: number): number {
  return 0x01430 + 0x40 * n;
}

// ---------------- Descriptors (16 bytes; words w0..w3 little-endian; Q0 = w0|w1, Q1 = w2|w3) ----------------

// Section 7.1.5 Legacy Receive Descriptor, write-back: w2 = length (15:0) | fragment checksum (31:16);
// w3 = status (7:0: DD bit 0, EOP bit 1) | errors (15:8) | VLAN (31:16)
export const RX_LEGACY_W3_DD = bit(0);
export const RX_LEGACY_W3_EOP = bit(1);
// Section 7.1.6.2 Advanced Receive Descriptor, write-back: w2 = extended status (DD bit 0, EOP bit 1) | errors;
// w3 = packet length (15:0) | VLAN (31:16)
export const RX_ADV_W2_DD = bit(0);
export const RX_ADV_W2_EOP = bit(1);
// Section 7.2.3.2.2 Legacy Transmit Descriptor: w2 = length (15:0) | CSO (23:16) | CMD (31:24); w3 = STA (3:0) ...
// Section 7.2.3.2.4 Advanced Transmit Data Descriptor: w2 = DTALEN (15:0) | DTYP (23:20) | DCMD (31:24)
export const TX_W2_LENGTH_MASK = 0xffff;
export const TX_CMD_EOP = bit(24);
export const TX_CMD_IFCS = bit(25);
export const TX_CMD_RS = bit(27);
export const TX_CMD_DEXT = bit(29);
export const TX_ADV_DTYP_SHIFT = 20;
export const TX_ADV_DTYP_MASK = 0xf << 20;
export const TX_ADV_DTYP_CONTEXT = 0x2;
export const TX_ADV_DTYP_DATA = 0x3;
export const TX_W3_DD = bit(0);
