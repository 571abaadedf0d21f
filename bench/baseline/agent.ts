// BASELINE for bench/optimise.ts: src/ixgbe/agent.ts as of commit 5e0c41b (before the issue 6 optimisation),
// copied verbatim but for import paths, so before/after can be measured in one process. Not used by tinynf.
// The restricted TinyNF model (OSDI'20): an agent moves packets from one input to 1..4 outputs with no buffer
// management at all. The receive ring of the input IS the transmit ring of the first output (same descriptor
// memory); other outputs have their own rings whose buffer addresses point at the same buffers. A slot goes
//   free-for-RX -> received (DD) -> queued for TX (Q1 := TX command, clears DD) -> transmitted -> free-for-RX
// and the agent hands slots back to receive by mirroring the earliest transmit head into RDT.
// See docs/driver.md for the state machine; assumptions/interpretations are listed in registers.ts.
import { DmaMemory, Environment, TinyNfError } from '../../src/env/environment';
import { Device } from '../../src/ixgbe/device';
import type { Forwarder, ForwarderStats } from '../../src/ixgbe/forwarder';
import type { PacketHandler } from '../../src/ixgbe/handler';
import { HandlerFaults } from '../../src/ixgbe/handler-faults';
import * as R from '../../src/ixgbe/registers';

/** Descriptors per ring (a power of two, for masking). */
export const RING_SIZE = 1024;
/** Bytes per packet buffer: an Ethernet frame (1518 B) fits; Section 8.2.3.8.7 allows 1..16 KB in 1 KB steps. */
export const BUFFER_BYTES = 2048;
/** Transmit tails are written after this many packets (and whenever the input is idle). */
export const FLUSH_PERIOD = 8;
/** Every this many packets, RS is set and the earliest transmit head goes to RDT. Power of two, < RING_SIZE. */
export const RECYCLE_PERIOD = 64;
export const MAX_OUTPUTS = 4;
/** Packets processed at most per poll() call. */
export const POLL_BUDGET = 256;
/** One transmit head word per 64-byte line (assumption CACHE); must be 16-byte aligned (see device.addOutput). */
const HEAD_STRIDE_BYTES = 64;

const RING_MASK = RING_SIZE - 1;
const TX_COMMAND = (R.LEGACY_TX_W2_CMD_EOP | R.LEGACY_TX_W2_CMD_IFCS) >>> 0;

/** A piece of shared memory: enough to rebuild views of it in another thread. */
export interface SharedRegion {
  readonly buffer: SharedArrayBuffer;
  readonly byteOffset: number;
  readonly byteLength: number;
}

/** Register a fast path writes: a word of a device's BAR0. */
export interface SharedRegister {
  readonly bar0: SharedArrayBuffer;
  /** Index in 32-bit words. */
  readonly index: number;
}

/** Everything an agent needs once its queues are set up; plain data that can be posted to a worker thread. */
export interface AgentLayout {
  readonly buffers: SharedRegion;
  /** rings[0] is the input's receive ring and the first output's transmit ring. */
  readonly rings: readonly SharedRegion[];
  readonly transmitHeads: SharedRegion;
  readonly receiveTail: SharedRegister;
  readonly transmitTails: readonly SharedRegister[];
}

export interface AgentStats extends ForwarderStats {
  /** Packets whose handler returned a length outside 1..BUFFER_BYTES (dropped, also counted in droppedPackets). */
  invalidLengths: number;
}

export class Agent implements Forwarder {
  readonly layout: AgentLayout;
  readonly outputsCount: number;
  /** Unused here (the baseline predates handler-fault handling); the Forwarder interface has it. */
  faults: HandlerFaults = new HandlerFaults();
  readonly stats: AgentStats;
  /** Pre-made views of each slot's buffer (BUFFER_BYTES long), indexed by slot. */
  readonly packets: readonly Uint8Array[];
  readonly views: readonly DataView[];
  /** The handler's outputs array, reused for every packet and zeroed after each. */
  readonly outputs: Uint8Array;
  private readonly rings: Uint32Array[];
  private readonly ring0: Uint32Array;
  private readonly transmitHeads: Uint32Array;
  private readonly receiveTailRegs: Uint32Array;
  private readonly receiveTailIndex: number;
  private readonly transmitTailRegs: Uint32Array[];
  private readonly transmitTailIndexes: Int32Array;
  /** Next slot to transmit (TinyNF's "processed delimiter"). */
  private processedDelimiter = 0;
  /** Next slot to look at for a received packet (= processedDelimiter unless receive() ran ahead). */
  private receiveDelimiter = 0;
  /** Packets transmitted since the last tail write. */
  private unflushed = 0;
  /** Last value written to RDT (setInput writes RING_SIZE - 1). */
  private receiveTail = RING_SIZE - 1;

  /**
   * Set up an agent from `input` to `outputs` (1..4 devices, the same device may appear several times): allocates the
   * buffers and rings, adds the outputs, then the input (so buffer addresses exist before receive starts).
   * Or, given an AgentLayout (e.g. in a worker thread), attach to queues set up elsewhere.
   */
  constructor(env: Environment | null, input: Device | AgentLayout, outputs: readonly Device[] = []) {
    if (input instanceof Device) {
      if (env === null) throw new TinyNfError('Agent: an environment is needed to set up queues');
      this.layout = setUpAgent(env, input, outputs);
    } else {
      this.layout = input;
    }
    const layout = this.layout;
    this.outputsCount = layout.rings.length;
    this.stats = { rxPackets: 0, txPackets: new Array<number>(this.outputsCount).fill(0), droppedPackets: 0, handlerErrors: 0, invalidLengths: 0 };
    this.rings = layout.rings.map((r) => new Uint32Array(r.buffer, r.byteOffset, (RING_SIZE * R.DESCRIPTOR_BYTES) / 4));
    this.ring0 = this.rings[0];
    const heads = layout.transmitHeads;
    this.transmitHeads = new Uint32Array(heads.buffer, heads.byteOffset, heads.byteLength / 4);
    this.receiveTailRegs = new Uint32Array(layout.receiveTail.bar0);
    this.receiveTailIndex = layout.receiveTail.index;
    this.transmitTailRegs = layout.transmitTails.map((t) => new Uint32Array(t.bar0));
    this.transmitTailIndexes = Int32Array.from(layout.transmitTails.map((t) => t.index));
    const b = layout.buffers;
    const packets: Uint8Array[] = [];
    const views: DataView[] = [];
    for (let slot = 0; slot < RING_SIZE; slot++) {
      packets.push(new Uint8Array(b.buffer, b.byteOffset + slot * BUFFER_BYTES, BUFFER_BYTES));
      views.push(new DataView(b.buffer, b.byteOffset + slot * BUFFER_BYTES, BUFFER_BYTES));
    }
    this.packets = packets;
    this.views = views;
    this.outputs = new Uint8Array(this.outputsCount);
  }

  /** Run the handler on every packet available now (at most POLL_BUDGET); flushes when the input is idle. */
  poll(handler: PacketHandler): number {
    const outputs = this.outputs;
    let count = 0;
    while (count < POLL_BUDGET) {
      const slot = this.receive();
      if (slot < 0) break;
      const length = handler(this.packets[slot], this.views[slot], this.receivedLength(slot), outputs);
      this.transmit(length, outputs);
      count++;
    }
    return count;
  }

  /**
   * Low-level: the slot of the next received packet, or -1 if none (then pending transmissions are flushed).
   * Several packets may be received before they are transmitted; transmit() always completes the oldest.
   */
  receive(): number {
    const slot = this.receiveDelimiter;
    // Section 7.1.5 Legacy Receive Descriptor Format: DD is bit 32 of Q1 (bit 0 of word 3)
    if ((Atomics.load(this.ring0, slot * 4 + 3) & R.LEGACY_RX_W3_STATUS_DD) === 0) {
      if (this.unflushed !== 0) this.flush();
      if (this.receiveDelimiter === this.processedDelimiter) this.recycle();
      return -1;
    }
    this.receiveDelimiter = (slot + 1) & RING_MASK;
    this.stats.rxPackets++;
    return slot;
  }

  /** Length of the packet received in `slot` (Section 7.1.5: bits 15:0 of Q1). */
  receivedLength(slot: number): number {
    return this.ring0[slot * 4 + 2] & R.LEGACY_RX_W2_LENGTH;
  }

  /** Number of packets received (by receive()) and not yet transmitted. */
  get outstanding(): number {
    return (this.receiveDelimiter - this.processedDelimiter) & RING_MASK;
  }

  /**
   * Low-level: transmit the oldest received packet with `length` on every output k with outputs[k] !== 0 (a null
   * descriptor, i.e. nothing, on the others), then zero `outputs`. Every RECYCLE_PERIOD packets, give transmitted
   * slots back to receive; every FLUSH_PERIOD packets, write the transmit tails.
   */
  transmit(length: number, outputs: Uint8Array): void {
    const slot = this.processedDelimiter;
    if (!(length > 0 && length <= BUFFER_BYTES)) {
      if (length !== 0) this.stats.invalidLengths++;
      outputs.fill(0);
    }
    // Section 7.2.3.2.2 Legacy Transmit Descriptor Format: RS ("report status") makes the NIC write the head back
    const rs = (slot & (RECYCLE_PERIOD - 1)) === RECYCLE_PERIOD - 1 ? R.LEGACY_TX_W2_CMD_RS : 0;
    let sent = false;
    for (let n = 0; n < this.outputsCount; n++) {
      const outLength = outputs[n] !== 0 ? length : 0; // length 0 = null descriptor: nothing is sent
      const ring = this.rings[n];
      ring[slot * 4 + 2] = (outLength | TX_COMMAND | rs) >>> 0;
      ring[slot * 4 + 3] = 0; // also clears the receive DD bit of ring 0
      if (outLength !== 0) {
        this.stats.txPackets[n]++;
        sent = true;
      }
      outputs[n] = 0;
    }
    if (!sent) this.stats.droppedPackets++;
    this.processedDelimiter = (slot + 1) & RING_MASK;
    if (rs !== 0) this.recycle();
    if (++this.unflushed === FLUSH_PERIOD) this.flush();
  }

  /** Write every output's transmit tail (descriptor writes happen-before this Atomics.store). */
  flush(): void {
    for (let n = 0; n < this.outputsCount; n++) {
      Atomics.store(this.transmitTailRegs[n], this.transmitTailIndexes[n], this.processedDelimiter);
    }
    this.unflushed = 0;
  }

  /**
   * Give slots every output has transmitted back to receive: RDT := (earliest written-back head - 1).
   * Runs every RECYCLE_PERIOD packets (as TinyNF) and also when the input is idle: TinyNF only recycles every 64
   * packets, so if the heads lag by more than RING_SIZE - 64 slots at the last recycle (a slow output), the ring
   * would stay full forever once the input stops; recycling when idle costs nothing and avoids that.
   */
  private recycle(): void {
    const p = this.processedDelimiter;
    let earliest = p;
    let maxBehind = -1;
    for (let n = 0; n < this.outputsCount; n++) {
      const head = Atomics.load(this.transmitHeads, (n * HEAD_STRIDE_BYTES) / 4) & RING_MASK;
      const behind = (p - head) & RING_MASK; // at most RING_SIZE - 1 slots are ever in flight
      if (behind > maxBehind) {
        earliest = head;
        maxBehind = behind;
      }
    }
    const tail = (earliest - 1) & RING_MASK;
    if (tail !== this.receiveTail) {
      this.receiveTail = tail;
      Atomics.store(this.receiveTailRegs, this.receiveTailIndex, tail);
    }
  }
}

/** Allocate and program everything (TinyNF's agent init, in the icse23 order: outputs before the input). */
function setUpAgent(env: Environment, input: Device, outputs: readonly Device[]): AgentLayout {
  if (outputs.length < 1 || outputs.length > MAX_OUTPUTS) {
    throw new TinyNfError(`an agent has 1 to ${MAX_OUTPUTS} outputs, got ${outputs.length}`);
  }
  const buffers = env.allocateDma(RING_SIZE * BUFFER_BYTES);
  const heads = env.allocateDma(outputs.length * HEAD_STRIDE_BYTES);
  const rings: DmaMemory[] = [];
  const transmitTails: SharedRegister[] = [];
  for (let r = 0; r < outputs.length; r++) {
    const ring = env.allocateDma(RING_SIZE * R.DESCRIPTOR_BYTES);
    const words = new Uint32Array(ring.buffer, ring.byteOffset, (RING_SIZE * R.DESCRIPTOR_BYTES) / 4);
    for (let slot = 0; slot < RING_SIZE; slot++) {
      // Section 7.2.3.2.2 / 7.1.5: Q0 = buffer address, written once; the NIC never overwrites it
      // (INTERPRETATION-INCORRECT: the TX write-back format calls Q0 reserved, but the hardware leaves it alone).
      // INTERPRETATION-MISSING: descriptor endianness is unstated; Section 1.5.3 makes registers little-endian.
      const phys = buffers.phys + slot * BUFFER_BYTES;
      words[slot * 4] = phys >>> 0;
      words[slot * 4 + 1] = Math.floor(phys / 2 ** 32);
    }
    rings.push(ring);
    const handle = outputs[r].addOutput(ring.phys, RING_SIZE, heads.phys + r * HEAD_STRIDE_BYTES);
    transmitTails.push({ bar0: outputs[r].bar0.buffer, index: handle.tailOffset >>> 2 });
  }
  const receive = input.setInput(rings[0].phys, RING_SIZE, BUFFER_BYTES, 'legacy');
  const region = (m: DmaMemory, bytes: number): SharedRegion => ({ buffer: m.buffer, byteOffset: m.byteOffset, byteLength: bytes });
  return {
    buffers: region(buffers, RING_SIZE * BUFFER_BYTES),
    rings: rings.map((m) => region(m, RING_SIZE * R.DESCRIPTOR_BYTES)),
    transmitHeads: region(heads, outputs.length * HEAD_STRIDE_BYTES),
    receiveTail: { bar0: input.bar0.buffer, index: receive.tailOffset >>> 2 },
    transmitTails,
  };
}

export { run } from '../../src/ixgbe/forwarder';
