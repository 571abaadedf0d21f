// A virtio-net device, initialised (Virtio 1.1 Section 3.1.1 Driver Requirements: Device Initialization) with one
// receive and one transmit queue whose memory it owns. The forwarders (agent.ts, flexible.ts) fill the descriptors
// and move buffers; a device's receive queue belongs to one forwarder and its transmit queue to one forwarder.
import { DmaMemory, PciAddress, PciBarEnvironment, TinyNfError, assertLittleEndianHost, parsePciAddress } from '../env/environment';
import { checkDeviceMemoryArchitecture } from '../env/device-memory';
import * as S from './spec';
import { LegacyTransport, ModernTransport, Notifier, VirtioTransport } from './transport';

/** Entries per queue we ask for (the device may offer fewer; a legacy device imposes its own). */
export const DEFAULT_QUEUE_SIZE = 256;

/** One split virtqueue (Section 2.6) in DMA memory, laid out as the legacy interface requires (Section 2.6.2). */
export class Virtqueue {
  readonly mask: number;
  /** Descriptor table as words: [4i] addr low, [4i+1] addr high, [4i+2] len, [4i+3] flags | next << 16. */
  readonly desc: Uint32Array;
  /** Available ring as 16-bit words: [0] flags, [1] idx, [2 + i] ring[i]. */
  readonly avail: Uint16Array;
  /** Used ring as 16-bit words: [0] flags, [1] idx. */
  readonly used16: Uint16Array;
  /** Used ring as 32-bit words: [1 + 2i] ring[i].id, [2 + 2i] ring[i].len. */
  readonly used32: Uint32Array;
  readonly phys: { desc: number; avail: number; used: number };
  notifier: Notifier | null = null;
  /** Taken by a forwarder (a queue has exactly one driver-side user). */
  claimed = false;

  constructor(
    readonly index: number,
    readonly size: number,
    memory: DmaMemory,
    offset: number,
  ) {
    this.mask = size - 1;
    const availOffset = offset + S.DESC_BYTES * size;
    const usedOffset = offset + Virtqueue.usedOffset(size);
    this.desc = new Uint32Array(memory.buffer, memory.byteOffset + offset, (S.DESC_BYTES / 4) * size);
    this.avail = new Uint16Array(memory.buffer, memory.byteOffset + availOffset, 3 + size);
    this.used16 = new Uint16Array(memory.buffer, memory.byteOffset + usedOffset, 2);
    this.used32 = new Uint32Array(memory.buffer, memory.byteOffset + usedOffset, 1 + 2 * size);
    this.phys = { desc: memory.phys + offset, avail: memory.phys + availOffset, used: memory.phys + usedOffset };
    // ASSUMPTION POLLING (spec.ts): ask the device not to interrupt (Section 2.6.7.1: VIRTQ_AVAIL_F_NO_INTERRUPT).
    this.avail[0] = S.VIRTQ_AVAIL_F_NO_INTERRUPT;
  }

  /** Section 2.6.2: the used ring starts at the first 4096 boundary after the descriptor table and avail ring. */
  static usedOffset(size: number): number {
    return align(S.DESC_BYTES * size + 2 * (3 + size), S.LEGACY_QUEUE_ALIGN);
  }

  /** Bytes of a queue of `size` entries, rounded up to 4096 (so the next queue is aligned too). */
  static bytes(size: number): number {
    return align(Virtqueue.usedOffset(size) + 4 * 2 + 8 * size + 2, S.LEGACY_QUEUE_ALIGN);
  }

  notify(): void {
    this.notifier!.notify();
  }

  claim(what: string): void {
    if (this.claimed) {
      throw new TinyNfError(
        `${what}: this virtio-net port's ${this.index === S.RECEIVE_QUEUE ? 'receive' : 'transmit'} queue is used by another forwarder already ` +
          '(one queue pair per port, no VIRTIO_NET_F_MQ): an NF that sends to one port from two inputs cannot run on virtio',
      );
    }
    this.claimed = true;
  }
}

function align(n: number, to: number): number {
  return Math.ceil(n / to) * to;
}

export interface VirtioDeviceOptions {
  /** Queue entries to ask for (power of two; default 256). Ignored by legacy devices, which impose theirs. */
  queueSize?: number;
}

export class VirtioNetDevice {
  /** Negotiated feature bits 0..31 and 32..63. */
  readonly features: { low: number; high: number };
  /** Bytes of struct virtio_net_hdr in front of every frame (12 modern, 10 legacy: Section 5.1.6.1). */
  readonly headerBytes: number;
  readonly rx: Virtqueue;
  readonly tx: Virtqueue;

  private constructor(
    readonly address: PciAddress,
    readonly transport: VirtioTransport,
    features: { low: number; high: number },
    rx: Virtqueue,
    tx: Virtqueue,
  ) {
    this.features = features;
    this.headerBytes = transport.kind === 'modern' ? S.NET_HDR_BYTES_MODERN : S.NET_HDR_BYTES_LEGACY;
    this.rx = rx;
    this.tx = tx;
  }

  get kind(): 'modern' | 'legacy' {
    return this.transport.kind;
  }

  /** Whether feature `bit` was negotiated. */
  has(bit: number): boolean {
    return bit < 32 ? ((this.features.low >>> bit) & 1) === 1 : ((this.features.high >>> (bit - 32)) & 1) === 1;
  }

  /**
   * Initialise the virtio-net device at `address` (bound to uio_pci_generic or similar: no kernel driver):
   * Section 3.1.1 steps 1-8, with both queues set up before DRIVER_OK.
   */
  static init(env: PciBarEnvironment, address: string, options: VirtioDeviceOptions = {}): VirtioNetDevice {
    assertLittleEndianHost(); // modern virtio is little-endian; legacy uses the guest's order, little-endian here
    checkDeviceMemoryArchitecture(); // ASSUMPTION ORDERING holds on x86-64 only
    const a = parsePciAddress(address);
    const id = env.pciRead32(a, 0x00) >>> 0;
    const vendor = id & 0xffff;
    const deviceId = id >>> 16;
    if (vendor !== S.VIRTIO_PCI_VENDOR || (deviceId !== S.VIRTIO_PCI_DEVICE_NET_MODERN && deviceId !== S.VIRTIO_PCI_DEVICE_NET_LEGACY)) {
      throw new TinyNfError(
        `device ${a} is ${hex4(vendor)}:${hex4(deviceId)}, not a virtio-net device (1af4:1041 modern or 1af4:1000 legacy)`,
      );
    }
    const requested = options.queueSize ?? DEFAULT_QUEUE_SIZE;
    if (!isPowerOfTwo(requested) || requested > S.MAX_QUEUE_SIZE) throw new TinyNfError(`virtio queue size must be a power of two up to 32768, got ${requested}`);

    // PCI Local Bus 3.0 Section 6.2.2 Command register: I/O space (bit 0), memory space (bit 1), bus master (bit 2).
    // uio_pci_generic enables the device but not bus mastering, without which the device cannot DMA.
    const command = env.pciRead32(a, 0x04);
    env.pciWrite32(a, 0x04, (command & 0xffff) | 0x7);

    const t: VirtioTransport = deviceId === S.VIRTIO_PCI_DEVICE_NET_MODERN ? new ModernTransport(env, a) : new LegacyTransport(env, a);
    // 1. reset; 2. ACKNOWLEDGE; 3. DRIVER
    t.reset();
    t.setStatus(S.STATUS_ACKNOWLEDGE);
    t.setStatus(S.STATUS_ACKNOWLEDGE | S.STATUS_DRIVER);
    // 4. read the device's features, write the subset we understand (spec.ts ACCEPTED_FEATURES)
    const offered = t.deviceFeatures();
    let low = 0;
    let high = 0;
    for (const bit of S.ACCEPTED_FEATURES) {
      if (bit < 32) low |= offered.low & (1 << bit);
      else high |= offered.high & (1 << (bit - 32));
    }
    low >>>= 0;
    high >>>= 0;
    const version1 = (high & (1 << (S.VIRTIO_F_VERSION_1 - 32))) !== 0;
    if (t.kind === 'modern' && !version1) {
      t.setStatus(S.STATUS_FAILED);
      throw new TinyNfError(`${a}: a modern virtio device that does not offer VIRTIO_F_VERSION_1`);
    }
    t.setDriverFeatures(low, high);
    let status = S.STATUS_ACKNOWLEDGE | S.STATUS_DRIVER;
    if (t.kind === 'modern') {
      // 5. FEATURES_OK; 6. re-read it: the device clears it if it does not accept our subset. (Legacy devices have no
      // FEATURES_OK: Section 3.1.2 Legacy Interface: Device Initialization.)
      status |= S.STATUS_FEATURES_OK;
      t.setStatus(status);
      if ((t.status() & S.STATUS_FEATURES_OK) === 0) {
        t.setStatus(S.STATUS_FAILED);
        throw new TinyNfError(`${a}: the device refused our features (0x${high.toString(16)}_${low.toString(16).padStart(8, '0')})`);
      }
    }
    // 7. device-specific setup: the two queues, in one DMA allocation.
    const sizes = [S.RECEIVE_QUEUE, S.TRANSMIT_QUEUE].map((q) => {
      const max = t.queueMaxSize(q);
      if (max === 0) throw new TinyNfError(`${a}: virtio-net queue ${q} does not exist`);
      if (!isPowerOfTwo(max)) throw new TinyNfError(`${a}: queue ${q} has ${max} entries, not a power of two`);
      return t.kind === 'legacy' ? max : Math.min(max, requested);
    });
    const memory = env.allocateDma(Virtqueue.bytes(sizes[0]) + Virtqueue.bytes(sizes[1]));
    const rx = new Virtqueue(S.RECEIVE_QUEUE, sizes[0], memory, 0);
    const tx = new Virtqueue(S.TRANSMIT_QUEUE, sizes[1], memory, Virtqueue.bytes(sizes[0]));
    for (const q of [rx, tx]) q.notifier = t.setUpQueue(q.index, q.size, q.phys);
    // 8. DRIVER_OK: the device is live.
    t.setStatus(status | S.STATUS_DRIVER_OK);
    if ((t.status() & (S.STATUS_FAILED | S.STATUS_DEVICE_NEEDS_RESET)) !== 0) {
      throw new TinyNfError(`${a}: the device reports a failure after initialisation (status 0x${t.status().toString(16)})`);
    }
    return new VirtioNetDevice(a, t, { low, high }, rx, tx);
  }
}

function isPowerOfTwo(n: number): boolean {
  return Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0;
}

function hex4(v: number): string {
  return v.toString(16).padStart(4, '0');
}
