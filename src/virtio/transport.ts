// The two ways a virtio-net PCI device is programmed: modern (virtio 1.x: structures in memory BARs found through
// vendor-specific PCI capabilities) and legacy (virtio 0.9.5: fixed registers in I/O BAR0). Both offer the same few
// operations to device.ts; neither is on the per-packet path except notify().
import { DeviceMemory, DeviceRegister16 } from '../env/device-memory';
import { PciAddress, PciBarEnvironment, TinyNfError } from '../env/environment';
import type { IoPortBar } from '../env/io-bar';
import * as S from './spec';

/** Physical addresses of a split virtqueue's three parts. */
export interface QueueAddresses {
  desc: number;
  avail: number;
  used: number;
}

/** Tells the device that queue `index` has new available buffers. */
export interface Notifier {
  notify(): void;
}

export interface VirtioTransport {
  readonly kind: 'modern' | 'legacy';
  readonly address: PciAddress;
  /** Write 0 to device_status and wait until the device reads back 0 (modern, Section 4.1.4.3.2). */
  reset(): void;
  status(): number;
  setStatus(status: number): void;
  /** Offered feature bits 0..31 and 32..63 (legacy: high is 0). */
  deviceFeatures(): { low: number; high: number };
  setDriverFeatures(low: number, high: number): void;
  /** The largest size queue `index` may have (legacy: the only size), 0 if the queue does not exist. */
  queueMaxSize(index: number): number;
  /**
   * Program queue `index` with `size` entries at `addresses` and enable it. Legacy devices need the legacy layout
   * (descriptor table, avail ring, used ring at the next 4096 boundary, contiguous; desc 4096-aligned).
   */
  setUpQueue(index: number, size: number, addresses: QueueAddresses): Notifier;
  /** Whether the queue needs the legacy contiguous layout (always true for legacy; the layout suits modern too). */
  readonly needsLegacyLayout: boolean;
}

function byte(word: number, n: number): number {
  return (word >>> (8 * n)) & 0xff;
}

// ---- modern ----------------------------------------------------------------------------------------------------

interface VirtioCap {
  bar: number;
  offset: number;
  length: number;
  /** Notify capability only. */
  multiplier: number;
}

/**
 * The virtio structures named by the device's vendor-specific capabilities (Section 4.1.4): the first one of each
 * type, as Section 4.1.4.1 advises ("The driver SHOULD use the first instance of each virtio structure type they can
 * support"), skipping those in reserved BAR numbers (0x6..0xff, Section 4.1.4 "bar ... values 0x0 to 0x5 specify a
 * Base Address register").
 */
export function findVirtioCaps(read32: (offset: number) => number, address: PciAddress): Map<number, VirtioCap> {
  const caps = new Map<number, VirtioCap>();
  if ((read32(0x04) & S.PCI_STATUS_CAP_LIST) === 0) {
    throw new TinyNfError(`${address} has no PCI capabilities list: not a modern virtio device`);
  }
  let ptr = read32(S.PCI_CAPABILITY_LIST) & 0xfc;
  // PCI Local Bus 3.0 Section 6.7: the list lives in the first 256 bytes, each entry 4-byte aligned: at most 48.
  for (let guard = 0; ptr !== 0 && guard < 48; guard++) {
    const head = read32(ptr);
    const next = byte(head, 1) & 0xfc;
    if (byte(head, 0) === S.PCI_CAP_ID_VNDR && byte(head, 2) >= 16) {
      const type = byte(head, S.VIRTIO_CAP_CFG_TYPE);
      const bar = byte(read32(ptr + 4), 0);
      if (bar <= 5 && !caps.has(type)) {
        caps.set(type, {
          bar,
          offset: read32(ptr + S.VIRTIO_CAP_OFFSET) >>> 0,
          length: read32(ptr + S.VIRTIO_CAP_LENGTH) >>> 0,
          multiplier: type === S.VIRTIO_PCI_CAP_NOTIFY_CFG && byte(head, 2) >= 20 ? read32(ptr + S.VIRTIO_CAP_NOTIFY_OFF_MULTIPLIER) >>> 0 : 0,
        });
      }
    }
    ptr = next;
  }
  return caps;
}

class ModernNotifier implements Notifier {
  constructor(
    private readonly register: DeviceRegister16,
    private readonly index: number,
  ) {}

  notify(): void {
    // Section 4.1.5.2 Available Buffer Notifications: "the driver sends an available buffer notification to the
    // device by writing the 16-bit virtqueue index of this virtqueue to the Queue Notify address" (without
    // VIRTIO_F_NOTIFICATION_DATA). One 16-bit plain store.
    this.register.write16(this.index);
  }
}

export class ModernTransport implements VirtioTransport {
  readonly kind = 'modern';
  readonly needsLegacyLayout = false;
  private readonly common: DeviceMemory;
  /** The common configuration's offset inside its BAR mapping. */
  private readonly c: number;
  private readonly notifyBar: DeviceMemory;
  private readonly notifyCap: VirtioCap;

  constructor(private readonly env: PciBarEnvironment, readonly address: PciAddress) {
    const caps = findVirtioCaps((off) => env.pciRead32(address, off), address);
    const common = caps.get(S.VIRTIO_PCI_CAP_COMMON_CFG);
    const notify = caps.get(S.VIRTIO_PCI_CAP_NOTIFY_CFG);
    if (common === undefined || notify === undefined) {
      throw new TinyNfError(`${address} lacks the virtio ${common === undefined ? 'common' : 'notify'} configuration capability (Virtio 1.1 Section 4.1.4)`);
    }
    if (common.length < S.COMMON_CFG_BYTES) throw new TinyNfError(`${address}: common configuration of ${common.length} bytes is too short`);
    const bars = new Map<number, DeviceMemory>();
    const barOf = (cap: VirtioCap): DeviceMemory => {
      let m = bars.get(cap.bar);
      if (m === undefined) {
        const mapping = env.mapMemoryBar(address, cap.bar);
        m = new DeviceMemory(mapping, mapping.byteLength - (mapping.byteLength % 4));
        bars.set(cap.bar, m);
      }
      if (cap.offset + cap.length > m.byteLength) {
        throw new TinyNfError(`${address}: a virtio structure (BAR${cap.bar} 0x${cap.offset.toString(16)}+${cap.length}) lies outside its BAR`);
      }
      return m;
    };
    this.common = barOf(common);
    this.c = common.offset;
    this.notifyBar = barOf(notify);
    this.notifyCap = notify;
  }

  reset(): void {
    this.common.write8(this.c + S.COMMON_DEVICE_STATUS, 0);
    // Section 4.1.4.3.2: "After writing 0 to device_status, the driver MUST wait for a read of device_status to
    // return 0 before reinitializing the device."
    for (let i = 0; this.common.read8(this.c + S.COMMON_DEVICE_STATUS) !== 0; i++) {
      if (i > 1000) throw new TinyNfError(`${this.address}: the device did not finish its reset within 1 s`);
      this.env.sleepUs(1000);
    }
  }

  status(): number {
    return this.common.read8(this.c + S.COMMON_DEVICE_STATUS);
  }

  setStatus(status: number): void {
    this.common.write8(this.c + S.COMMON_DEVICE_STATUS, status);
  }

  deviceFeatures(): { low: number; high: number } {
    this.common.write32(this.c + S.COMMON_DEVICE_FEATURE_SELECT, 0);
    const low = this.common.read32(this.c + S.COMMON_DEVICE_FEATURE) >>> 0;
    this.common.write32(this.c + S.COMMON_DEVICE_FEATURE_SELECT, 1);
    const high = this.common.read32(this.c + S.COMMON_DEVICE_FEATURE) >>> 0;
    return { low, high };
  }

  setDriverFeatures(low: number, high: number): void {
    this.common.write32(this.c + S.COMMON_DRIVER_FEATURE_SELECT, 0);
    this.common.write32(this.c + S.COMMON_DRIVER_FEATURE, low);
    this.common.write32(this.c + S.COMMON_DRIVER_FEATURE_SELECT, 1);
    this.common.write32(this.c + S.COMMON_DRIVER_FEATURE, high);
  }

  queueMaxSize(index: number): number {
    if (index >= this.common.read16(this.c + S.COMMON_NUM_QUEUES)) return 0;
    this.common.write16(this.c + S.COMMON_QUEUE_SELECT, index);
    return this.common.read16(this.c + S.COMMON_QUEUE_SIZE);
  }

  setUpQueue(index: number, size: number, a: QueueAddresses): Notifier {
    const m = this.common;
    const c = this.c;
    m.write16(c + S.COMMON_QUEUE_SELECT, index);
    // Section 4.1.5.1.3 Virtqueue Configuration: size (may be reduced), no MSI-X vector (ASSUMPTION POLLING), the
    // three addresses (64-bit fields as two 32-bit writes, low half first: Section 4.1.3.1), then queue_enable = 1.
    m.write16(c + S.COMMON_QUEUE_SIZE, size);
    m.write16(c + S.COMMON_QUEUE_MSIX_VECTOR, S.VIRTIO_MSI_NO_VECTOR);
    const write64 = (offset: number, value: number) => {
      m.write32(c + offset, value >>> 0);
      m.write32(c + offset + 4, Math.floor(value / 2 ** 32));
    };
    write64(S.COMMON_QUEUE_DESC, a.desc);
    write64(S.COMMON_QUEUE_DRIVER, a.avail);
    write64(S.COMMON_QUEUE_DEVICE, a.used);
    const notifyOff = m.read16(c + S.COMMON_QUEUE_NOTIFY_OFF);
    m.write16(c + S.COMMON_QUEUE_ENABLE, 1);
    // Section 4.1.4.4: the queue's notify address is cap.offset + queue_notify_off * notify_off_multiplier.
    const offset = notifyOff * this.notifyCap.multiplier;
    if (offset + 2 > this.notifyCap.length) {
      throw new TinyNfError(`${this.address}: queue ${index}'s notify address (offset ${offset}) lies outside the notify structure`);
    }
    return new ModernNotifier(this.notifyBar.register16(this.notifyCap.offset + offset), index);
  }
}

// ---- legacy ----------------------------------------------------------------------------------------------------

class LegacyNotifier implements Notifier {
  constructor(
    private readonly io: IoPortBar,
    private readonly index: number,
  ) {}

  notify(): void {
    // Section 4.1.4.8: Queue Notify, a 16-bit register; one outw (a pwrite of 2 bytes on resource0).
    this.io.write16(S.LEGACY_QUEUE_NOTIFY, this.index);
  }
}

export class LegacyTransport implements VirtioTransport {
  readonly kind = 'legacy';
  readonly needsLegacyLayout = true;
  private readonly io: IoPortBar;

  constructor(env: PciBarEnvironment, readonly address: PciAddress) {
    this.io = env.openIoBar(address, 0);
    // Section 4.1.4.8: 20 bytes of common registers before the device-specific ones (without MSI-X).
    if (this.io.byteLength < 0x14) throw new TinyNfError(`${address}: I/O BAR0 of ${this.io.byteLength} bytes is too small for a legacy virtio device`);
  }

  reset(): void {
    // Legacy: "writing 0 ... resets the device" (Section 4.1.4.8 via 2.1); the write completes the reset.
    this.io.write8(S.LEGACY_DEVICE_STATUS, 0);
  }

  status(): number {
    return this.io.read8(S.LEGACY_DEVICE_STATUS);
  }

  setStatus(status: number): void {
    this.io.write8(S.LEGACY_DEVICE_STATUS, status);
  }

  deviceFeatures(): { low: number; high: number } {
    return { low: this.io.read32(S.LEGACY_HOST_FEATURES) >>> 0, high: 0 };
  }

  setDriverFeatures(low: number, high: number): void {
    if (high !== 0) throw new TinyNfError(`${this.address}: a legacy device has no feature bits above 31`);
    this.io.write32(S.LEGACY_GUEST_FEATURES, low);
  }

  queueMaxSize(index: number): number {
    this.io.write16(S.LEGACY_QUEUE_SELECT, index);
    return this.io.read16(S.LEGACY_QUEUE_SIZE);
  }

  setUpQueue(index: number, size: number, a: QueueAddresses): Notifier {
    this.io.write16(S.LEGACY_QUEUE_SELECT, index);
    const deviceSize = this.io.read16(S.LEGACY_QUEUE_SIZE);
    // Legacy devices have a fixed queue size (Section 4.1.4.8: Queue Size is read-only).
    if (size !== deviceSize) throw new TinyNfError(`${this.address}: legacy queue ${index} has ${deviceSize} entries, not ${size}`);
    if (a.desc % S.LEGACY_QUEUE_ALIGN !== 0) throw new TinyNfError('legacy virtqueue memory must be 4096-aligned');
    const pfn = a.desc / S.LEGACY_QUEUE_ALIGN;
    if (pfn > 0xffffffff) throw new TinyNfError(`${this.address}: queue memory above 16 TiB cannot be given to a legacy device`);
    this.io.write32(S.LEGACY_QUEUE_ADDRESS, pfn);
    return new LegacyNotifier(this.io, index);
  }
}
