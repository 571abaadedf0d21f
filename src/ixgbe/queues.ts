// The flexible model's queues (ixy/DPDK style): separate receive and transmit rings with advanced descriptors,
// a receive queue that refills each used descriptor with a fresh buffer from the pool, and a transmit queue
// that gives sent buffers back to the pool once the NIC wrote DD back. Batched: rxBatch/txBatch.
import type { DeviceRegister } from '../env/device-memory';
import { Environment, TinyNfError } from '../env/environment';
import { BufferPool } from './buffer-pool';
import { Device } from './device';
import * as R from './registers';

export const DEFAULT_QUEUE_RING_SIZE = 512;

// The descriptor fields the per-packet loops use, as module-local constants: `R.X` is a property load from the
// registers module's large exports object, which V8 does not fold into an immediate (see agent.ts).
// Section 7.1.6.2 Advanced Receive Descriptors, write-back format
const RX_STATUS_DD = R.ADVANCED_RX_W2_STATUS_DD;
const RX_STATUS_EOP = R.ADVANCED_RX_W2_STATUS_EOP;
const RX_LENGTH = R.ADVANCED_RX_W3_LENGTH;
// Section 7.2.3.2.4 Advanced Transmit Data Descriptor, write-back format (STA.DD) and read format (PAYLEN)
const TX_STATUS_DD = R.ADVANCED_TX_W3_STA_DD;
const TX_PAYLEN_SHIFT = R.ADVANCED_TX_W3_PAYLEN_SHIFT;
/**
 * Descriptors checked with one acquire: an Atomics.load costs ~9 ns in Node 20 (a builtin call), so, as DPDK's ixgbe
 * receive path checks 8 descriptors' DD and then issues one read barrier, rxBatch and clean look at the DD of the
 * descriptor LOOKAHEAD - 1 on with Atomics.load and, if it is done, take the ones before it with plain reads.
 * INTERPRETATION-MISSING: this relies on the NIC writing descriptors back in ring order (see agent.ts, receive()).
 */
const LOOKAHEAD = 8;

const TX_COMMAND = (R.ADVANCED_TX_W2_DTYP_DATA |
  R.ADVANCED_TX_W2_DCMD_EOP |
  R.ADVANCED_TX_W2_DCMD_IFCS |
  R.ADVANCED_TX_W2_DCMD_RS |
  R.ADVANCED_TX_W2_DCMD_DEXT) >>> 0;

function checkRingSize(ringSize: number): void {
  if (!Number.isInteger(ringSize) || ringSize < 8 || ringSize > 4096 || (ringSize & (ringSize - 1)) !== 0) {
    throw new TinyNfError(`queue ring size must be a power of two between 8 and 4096, got ${ringSize}`);
  }
}

export class RxQueue {
  readonly ringSize: number;
  private readonly mask: number;
  private readonly ring: Uint32Array;
  /** Buffer index held by each descriptor. */
  private readonly bufferAt: Int32Array;
  /** RDT / TDT: written with plain 32-bit stores after the descriptors (assumption ORDERING). */
  private readonly tail: DeviceRegister;
  private index = 0;

  constructor(env: Environment, device: Device, readonly pool: BufferPool, ringSize: number = DEFAULT_QUEUE_RING_SIZE) {
    checkRingSize(ringSize);
    this.ringSize = ringSize;
    this.mask = ringSize - 1;
    const memory = env.allocateDma(ringSize * R.DESCRIPTOR_BYTES);
    this.ring = new Uint32Array(memory.buffer, memory.byteOffset, (ringSize * R.DESCRIPTOR_BYTES) / 4);
    this.bufferAt = new Int32Array(ringSize);
    for (let i = 0; i < ringSize; i++) {
      const buffer = pool.alloc();
      if (buffer < 0) throw new TinyNfError(`buffer pool too small to fill a receive ring of ${ringSize}`);
      this.give(i, buffer);
    }
    // Section 8.2.3.8.7 SRRCTL.DESCTYPE = 001b: advanced descriptors, one buffer
    const handle = device.setInput(memory.phys, ringSize, pool.bufferBytes, 'advanced');
    this.tail = device.bar0.register(handle.tailOffset);
  }

  /** Section 7.1.6.1 Advanced Receive Descriptors, read format: Q0 = packet buffer, Q1 = header buffer (0) */
  private give(i: number, buffer: number): void {
    this.ring[i * 4] = this.pool.physLow[buffer];
    this.ring[i * 4 + 1] = this.pool.physHigh[buffer];
    this.ring[i * 4 + 2] = 0; // also clears DD of the write-back format
    this.ring[i * 4 + 3] = 0;
    this.bufferAt[i] = buffer;
  }

  /** Frames dropped because they spanned several receive descriptors (see rxBatch). */
  multiDescriptorFrames = 0;
  /** Inside a multi-descriptor frame being dropped. */
  private discarding = false;

  /** Receive up to `max` packets into `buffers` (indexes into the pool; lengths in pool.lengths). */
  rxBatch(buffers: Int32Array, max: number): number {
    const ring = this.ring;
    const mask = this.mask;
    let i = this.index;
    let n = 0;
    /** Descriptors from i on known to be done (by an acquire of a later one's DD). */
    let done = 0;
    while (n < max) {
      // Section 7.1.6.2 write-back format: extended status in word 2 (DD bit 0, EOP bit 1), length in word 3
      let status: number;
      if (done !== 0) {
        status = ring[i * 4 + 2];
        done--;
      } else {
        status = Atomics.load(ring, i * 4 + 2);
        if ((status & RX_STATUS_DD) === 0) break;
        if (max - n >= LOOKAHEAD && (Atomics.load(ring, ((i + LOOKAHEAD - 1) & mask) * 4 + 2) & RX_STATUS_DD) !== 0) done = LOOKAHEAD - 1;
      }
      if ((status & RX_STATUS_EOP) === 0 || this.discarding) {
        // ASSUMPTION (as ixy): a frame fits one buffer. One the NIC spread over several descriptors (jumbo frames
        // enabled, larger than a buffer; EOP only on the last, Section 7.1.6.2) is dropped whole, never delivered in
        // pieces: its buffers go back to the ring in place, and it is counted.
        this.discarding = (status & RX_STATUS_EOP) === 0;
        if (!this.discarding) this.multiDescriptorFrames++;
        this.give(i, this.bufferAt[i]);
        i = (i + 1) & mask;
        continue;
      }
      const fresh = this.pool.alloc();
      if (fresh < 0) break; // pool exhausted: leave the packet in the ring for now
      const buffer = this.bufferAt[i];
      this.pool.lengths[buffer] = ring[i * 4 + 3] & RX_LENGTH;
      buffers[n++] = buffer;
      this.give(i, fresh);
      i = (i + 1) & mask;
    }
    if (i !== this.index) {
      this.index = i;
      // The descriptor just before the next one to look at becomes the tail (ixy's last_rx_index)
      this.tail.write32((i - 1) & mask);
    }
    return n;
  }
}

export class TxQueue {
  readonly ringSize: number;
  private readonly mask: number;
  private readonly ring: Uint32Array;
  private readonly bufferAt: Int32Array;
  /** RDT / TDT: written with plain 32-bit stores after the descriptors (assumption ORDERING). */
  private readonly tail: DeviceRegister;
  /** Next descriptor to fill. */
  private index = 0;
  /** Oldest descriptor not yet given back to the pool. */
  private cleanIndex = 0;

  constructor(env: Environment, device: Device, readonly pool: BufferPool, ringSize: number = DEFAULT_QUEUE_RING_SIZE) {
    checkRingSize(ringSize);
    this.ringSize = ringSize;
    this.mask = ringSize - 1;
    const memory = env.allocateDma(ringSize * R.DESCRIPTOR_BYTES);
    this.ring = new Uint32Array(memory.buffer, memory.byteOffset, (ringSize * R.DESCRIPTOR_BYTES) / 4);
    this.bufferAt = new Int32Array(ringSize);
    // No head write-back: the NIC writes DD into every descriptor (RS set on each, as ixy does).
    const handle = device.addOutput(memory.phys, ringSize, null);
    this.tail = device.bar0.register(handle.tailOffset);
  }

  /** Descriptors the NIC has not yet given back. */
  get inFlight(): number {
    return (this.index - this.cleanIndex) & this.mask;
  }

  /** Give back to the pool every buffer whose descriptor has DD written back (in order). */
  clean(): number {
    const ring = this.ring;
    const mask = this.mask;
    let i = this.cleanIndex;
    let n = 0;
    let done = 0;
    while (i !== this.index) {
      if (done !== 0) {
        done--;
      } else {
        if ((Atomics.load(ring, i * 4 + 3) & TX_STATUS_DD) === 0) break;
        // a later descriptor, still in flight, with DD: every one before it is done too (in-order write-back)
        if (((this.index - i) & mask) >= LOOKAHEAD && (Atomics.load(ring, ((i + LOOKAHEAD - 1) & mask) * 4 + 3) & TX_STATUS_DD) !== 0) done = LOOKAHEAD - 1;
      }
      this.pool.free(this.bufferAt[i]);
      i = (i + 1) & mask;
      n++;
    }
    this.cleanIndex = i;
    return n;
  }

  /** Queue `count` buffers (with pool.lengths) for transmission; returns how many fit (the rest stay the caller's). */
  txBatch(buffers: Int32Array, count: number): number {
    this.clean();
    const ring = this.ring;
    let i = this.index;
    let sent = 0;
    while (sent < count) {
      const next = (i + 1) & this.mask;
      if (next === this.cleanIndex) break; // ring full (one slot stays empty: TDT == TDH means empty)
      const buffer = buffers[sent];
      const length = this.pool.lengths[buffer];
      // Section 7.2.3.2.4 Advanced Transmit Data Descriptor, read format
      ring[i * 4] = this.pool.physLow[buffer];
      ring[i * 4 + 1] = this.pool.physHigh[buffer];
      ring[i * 4 + 2] = (TX_COMMAND | length) >>> 0;
      ring[i * 4 + 3] = length << TX_PAYLEN_SHIFT; // PAYLEN; STA.DD = 0
      this.bufferAt[i] = buffer;
      i = next;
      sent++;
    }
    if (sent !== 0) {
      this.index = i;
      this.tail.write32(i);
    }
    return sent;
  }
}
