// The virtio-net device as the driver sees it: constants from the specification, each with its section, and the
// choices this driver makes, stated once.
//
// Reference: "Virtual I/O Device (VIRTIO) Version 1.1", OASIS Committee Specification 01 (2019) — cited as
// "Virtio 1.1 Section x.y" — and, for legacy devices, its "Legacy Interface" sections (which describe virtio 0.9.5,
// the interface of the 1af4:1000 transitional/legacy device).
//
// Interpretation taxonomy: as src/ixgbe/registers.ts (CONTRADICTION, MISSING, INCORRECT, POINTLESS, TYPO), plus
// DEVICE for what QEMU's virtio-net (7.2) does where the specification leaves a choice.
//
// ASSUMPTIONS (what this driver chooses not to support, as TinyNF's list for the 82599):
//  - ASSUMPTION POLLING: no interrupts. The driver sets VIRTQ_AVAIL_F_NO_INTERRUPT on every queue (Virtio 1.1
//    Section 2.6.7 "Used Buffer Notification Suppression") and never configures MSI-X vectors; it polls used rings.
//  - ASSUMPTION NO-OFFLOADS: no checksum offload (VIRTIO_NET_F_CSUM, GUEST_CSUM), no segmentation offloads (GSO, TSO,
//    UFO), no control queue (CTRL_VQ; so no CTRL_RX either: the device receives everything, Section 5.1.6.5 "if
//    VIRTIO_NET_F_CTRL_RX is not negotiated, the device ... receives all packets" is the promiscuous behaviour an NF
//    needs), one queue pair (no VIRTIO_NET_F_MQ). Every received frame is a whole frame without a partial checksum,
//    every transmitted header is all zero (no offload asked).
//  - ASSUMPTION NO-MERGE: no VIRTIO_NET_F_MRG_RXBUF: every receive buffer holds a whole frame (ours hold
//    BUFFER_BYTES - header bytes, more than a 1514-byte frame; the device drops what does not fit, Section 5.1.6.3.1).
//  - ASSUMPTION ONE-DESCRIPTOR: each buffer is one descriptor (header and frame together: VIRTIO_F_ANY_LAYOUT is
//    implied by VIRTIO_F_VERSION_1, Section 2.6.4; a legacy device without ANY_LAYOUT still accepts the header and
//    frame in one descriptor for virtio-net, DEVICE: QEMU's virtio-net does not care how the header is split).
//    No indirect descriptors (VIRTIO_F_INDIRECT_DESC), no packed rings (VIRTIO_F_RING_PACKED), no EVENT_IDX
//    (notifications are suppressed with the flags words, Section 2.6.7.1 / 2.6.10.1).
//  - ASSUMPTION ORDER-FREE: the driver reads the descriptor id of every used ring entry and never assumes that buffers
//    are used in the order they were made available, so it does not need VIRTIO_F_IN_ORDER. It does not accept it
//    either, although the feature would fit the TinyNF model: IN_ORDER "allows devices to notify the use of a batch of
//    buffers to the driver by only writing out a single used ring entry with the id corresponding to the head entry
//    of the descriptor chain describing the last buffer in the batch" (Section 2.6.9 "In-order use of descriptors"), and the driver MUST then use descriptors in ring order
//    (Section 2.6.5): our receive path would have to infer skipped ids and lengths, and no device we can
//    run offers it (QEMU 7.2's virtio-net has no in_order property): that path could not be tested.
//  - ASSUMPTION ACCESS-PLATFORM: VIRTIO_F_ACCESS_PLATFORM is accepted when offered (a NIC behind an emulated IOMMU,
//    iommu_platform=on): the addresses we give are then bus addresses translated by the platform. We give physical
//    addresses (pagemap), which is right with uio_pci_generic when the IOMMU is off or in passthrough (iommu=pt).
//  - ASSUMPTION ORDERING (x86-64 TSO): the driver writes descriptors and avail ring entries with plain stores and the
//    avail index with Atomics.store, then reads the used ring's flags with Atomics.load and notifies with a plain MMIO
//    store (or an I/O-port write, a system call). Section 2.6.13.3 "Updating idx" asks for a barrier between the ring entries
//    and the index (x86-64 never reorders stores with older stores: plain stores suffice, as Linux's virtio_wmb is a
//    compiler barrier on x86), and Section 2.6.13.4 "Notifying The Device" for a barrier between the index write and the read of the
//    flags that decides whether to notify (a store followed by a load is the one reordering x86-64 allows; Linux uses
//    virtio_mb = mfence there). Atomics.store is sequentially consistent: on x86-64 V8 emits XCHG, a full barrier,
//    so the flags load cannot pass the index store. This is DMA memory (RAM), where Atomics are allowed; device
//    memory (the notify register) is only written by DeviceMemory's plain stores. Reads of the used index are
//    Atomics.load (an acquire: the entries it covers are read after it).

// ---- Device identity: Virtio 1.1 Section 4.1.2 PCI Device Discovery ----------------------------------------------
export const VIRTIO_PCI_VENDOR = 0x1af4;
/** Transitional (legacy) network device: Section 4.1.2.3 (0x1000 + 0 = network card, subsystem device id 1). */
export const VIRTIO_PCI_DEVICE_NET_LEGACY = 0x1000;
/** Modern network device: 0x1040 + device type 1 (Section 5 "Device Types": 1 = network card). */
export const VIRTIO_PCI_DEVICE_NET_MODERN = 0x1041;

// ---- PCI capabilities: Virtio 1.1 Section 4.1.4 Virtio Structure PCI Capabilities --------------------------------
/** PCI Local Bus 3.0 Section 6.7: Status register bit 4 = capabilities list; Capabilities Pointer at 0x34. */
export const PCI_STATUS_CAP_LIST = 1 << 20; // bit 4 of the Status register = bit 20 of the dword at 0x04
export const PCI_CAPABILITY_LIST = 0x34;
/** Vendor-specific capability id (cap_vndr). */
export const PCI_CAP_ID_VNDR = 0x09;
/** struct virtio_pci_cap: cap_vndr(0) cap_next(1) cap_len(2) cfg_type(3) bar(4) id(5) padding(6,7) offset(8) length(12). */
export const VIRTIO_CAP_CFG_TYPE = 3;
export const VIRTIO_CAP_BAR = 4;
export const VIRTIO_CAP_OFFSET = 8;
export const VIRTIO_CAP_LENGTH = 12;
/** struct virtio_pci_notify_cap: notify_off_multiplier follows the capability (Section 4.1.4.4). */
export const VIRTIO_CAP_NOTIFY_OFF_MULTIPLIER = 16;
/** cfg_type values. */
export const VIRTIO_PCI_CAP_COMMON_CFG = 1;
export const VIRTIO_PCI_CAP_NOTIFY_CFG = 2;
export const VIRTIO_PCI_CAP_ISR_CFG = 3;
export const VIRTIO_PCI_CAP_DEVICE_CFG = 4;

// ---- Common configuration: Virtio 1.1 Section 4.1.4.3 struct virtio_pci_common_cfg -------------------------------
export const COMMON_DEVICE_FEATURE_SELECT = 0x00; // le32 RW
export const COMMON_DEVICE_FEATURE = 0x04; // le32 RO
export const COMMON_DRIVER_FEATURE_SELECT = 0x08; // le32 RW
export const COMMON_DRIVER_FEATURE = 0x0c; // le32 RW
export const COMMON_MSIX_CONFIG = 0x10; // le16 RW
export const COMMON_NUM_QUEUES = 0x12; // le16 RO
export const COMMON_DEVICE_STATUS = 0x14; // u8 RW
export const COMMON_CONFIG_GENERATION = 0x15; // u8 RO
export const COMMON_QUEUE_SELECT = 0x16; // le16 RW
export const COMMON_QUEUE_SIZE = 0x18; // le16 RW
export const COMMON_QUEUE_MSIX_VECTOR = 0x1a; // le16 RW
export const COMMON_QUEUE_ENABLE = 0x1c; // le16 RW
export const COMMON_QUEUE_NOTIFY_OFF = 0x1e; // le16 RO
/** le64 fields, written as two le32 halves, low first (Section 4.1.3.1: "64-bit fields ... as two 32-bit fields"). */
export const COMMON_QUEUE_DESC = 0x20;
export const COMMON_QUEUE_DRIVER = 0x28;
export const COMMON_QUEUE_DEVICE = 0x30;
/** The size of struct virtio_pci_common_cfg (the capability's length must cover it). */
export const COMMON_CFG_BYTES = 0x38;
/** Section 4.1.4.3 / 4.1.5.1.2: "no vector" for msix_config / queue_msix_vector. */
export const VIRTIO_MSI_NO_VECTOR = 0xffff;

// ---- Legacy interface: Virtio 1.1 Section 4.1.4.8 Legacy Interfaces: A Note on PCI Device Layout -----------------
// Registers in I/O BAR0, little-endian (the legacy interface uses the guest's endianness; x86 is little-endian).
export const LEGACY_HOST_FEATURES = 0x00; // le32 R  (device features bits 0..31)
export const LEGACY_GUEST_FEATURES = 0x04; // le32 RW (driver features bits 0..31)
export const LEGACY_QUEUE_ADDRESS = 0x08; // le32 RW (physical page number of the queue, 4096-byte pages)
export const LEGACY_QUEUE_SIZE = 0x0c; // le16 R
export const LEGACY_QUEUE_SELECT = 0x0e; // le16 RW
export const LEGACY_QUEUE_NOTIFY = 0x10; // le16 RW
export const LEGACY_DEVICE_STATUS = 0x12; // u8 RW
export const LEGACY_ISR_STATUS = 0x13; // u8 R
/** Section 2.6.2 Legacy Interfaces: A Note on Virtqueue Layout: queues are aligned to 4096 and addressed by page. */
export const LEGACY_QUEUE_ALIGN = 4096;
export const LEGACY_QUEUE_ADDR_SHIFT = 12;

// ---- Device status: Virtio 1.1 Section 2.1 Device Status Field ----------------------------------------------------
export const STATUS_ACKNOWLEDGE = 1;
export const STATUS_DRIVER = 2;
export const STATUS_DRIVER_OK = 4;
export const STATUS_FEATURES_OK = 8;
export const STATUS_DEVICE_NEEDS_RESET = 64;
export const STATUS_FAILED = 128;

// ---- Feature bits: Virtio 1.1 Section 6 Reserved Feature Bits and 5.1.3 Feature bits (network device) --------------
export const VIRTIO_NET_F_CSUM = 0;
export const VIRTIO_NET_F_GUEST_CSUM = 1;
export const VIRTIO_NET_F_MAC = 5;
export const VIRTIO_NET_F_MRG_RXBUF = 15;
export const VIRTIO_NET_F_STATUS = 16;
export const VIRTIO_NET_F_CTRL_VQ = 17;
export const VIRTIO_NET_F_MQ = 22;
export const VIRTIO_F_ANY_LAYOUT = 27;
export const VIRTIO_F_INDIRECT_DESC = 28;
export const VIRTIO_F_EVENT_IDX = 29;
export const VIRTIO_F_VERSION_1 = 32;
export const VIRTIO_F_ACCESS_PLATFORM = 33;
export const VIRTIO_F_RING_PACKED = 34;
export const VIRTIO_F_IN_ORDER = 35;
export const VIRTIO_F_NOTIFICATION_DATA = 38;

/**
 * The features this driver accepts when the device offers them (see the ASSUMPTIONS above); everything else is
 * declined. VERSION_1 is required of a modern device (Section 6: a driver of a non-transitional device MUST accept
 * it); a legacy device offers only bits 0..31, of which we accept MAC (harmless: it only says the config space holds
 * the MAC address).
 */
export const ACCEPTED_FEATURES: readonly number[] = [VIRTIO_NET_F_MAC, VIRTIO_F_VERSION_1, VIRTIO_F_ACCESS_PLATFORM];

// ---- Network device: Virtio 1.1 Section 5.1 ------------------------------------------------------------------------
/** Queue indexes (Section 5.1.2, without VIRTIO_NET_F_MQ): receiveq1 = 0, transmitq1 = 1. */
export const RECEIVE_QUEUE = 0;
export const TRANSMIT_QUEUE = 1;
/**
 * struct virtio_net_hdr (Section 5.1.6): flags, gso_type, hdr_len, gso_size, csum_start, csum_offset (10 bytes) and,
 * with VIRTIO_F_VERSION_1 or MRG_RXBUF, num_buffers (2 more). "The legacy driver only presented num_buffers in the
 * struct virtio_net_hdr when VIRTIO_NET_F_MRG_RXBUF was negotiated; without that feature the structure was 2 bytes
 * shorter" (Section 5.1.6.1).
 */
export const NET_HDR_BYTES_MODERN = 12;
export const NET_HDR_BYTES_LEGACY = 10;

// ---- Split virtqueues: Virtio 1.1 Section 2.6 ----------------------------------------------------------------------
/** struct virtq_desc: le64 addr, le32 len, le16 flags, le16 next (Section 2.6.5). */
export const DESC_BYTES = 16;
export const VIRTQ_DESC_F_NEXT = 1;
export const VIRTQ_DESC_F_WRITE = 2;
/** struct virtq_avail: le16 flags, le16 idx, le16 ring[N], le16 used_event (Section 2.6.6). */
export const VIRTQ_AVAIL_F_NO_INTERRUPT = 1;
/** struct virtq_used: le16 flags, le16 idx, struct virtq_used_elem { le32 id; le32 len } ring[N], le16 avail_event (2.6.8). */
export const VIRTQ_USED_F_NO_NOTIFY = 1;
/** Section 2.6: "Queue Size ... a power of 2" for split virtqueues; maximum 32768. */
export const MAX_QUEUE_SIZE = 32768;
