// The restricted TinyNF model (OSDI'20): an agent moves packets from one input to 1..4 outputs with no buffer
// management at all. The receive ring of the input IS the transmit ring of the first output (same descriptor
// memory); other outputs have their own rings whose buffer addresses point at the same buffers. A slot goes
//   free-for-RX -> received (DD) -> queued for TX (Q1 := TX command, clears DD) -> transmitted -> free-for-RX
// and the agent hands slots back to receive by mirroring the earliest transmit head into RDT.
// See docs/driver.md for the state machine; assumptions/interpretations are listed in registers.ts.
import { DmaMemory, Environment, TinyNfError } from '../env/environment';
import { DeviceMemory, DeviceRegister } from '../env/device-memory';
import { Device } from './device';
import type { Forwarder, ForwarderStats } from './forwarder';
import type { PacketHandler } from './handler';
import { HandlerFaults } from './handler-faults';
import * as R from './registers';

// Constants are module-local `const`s, exported by name below: tsc compiles `export const X` (CommonJS) so that every
// use of X in this file reads the property `exports.X`, and this module's exports object (which also holds a
// re-export accessor) is not one V8 turns into an immediate: in the packet loop that lookup cost as much as the
// rest of a no-op packet. The register fields the loop uses are copied into locals for the same reason (`R.X` is a
// property of the registers module's large exports object).

/** Descriptors per ring (a power of two, for masking). */
const RING_SIZE = 1024;
/** Bytes per packet buffer: an Ethernet frame (1518 B) fits; Section 8.2.3.8.7 allows 1..16 KB in 1 KB steps. */
const BUFFER_BYTES = 2048;
/** Transmit tails are written after this many packets (and whenever the input is idle). */
const FLUSH_PERIOD = 8;
/** Every this many packets, RS is set and the earliest transmit head goes to RDT. Power of two, < RING_SIZE. */
const RECYCLE_PERIOD = 64;
const MAX_OUTPUTS = 4;
/** Packets processed at most per poll() call. */
const POLL_BUDGET = 256;
export { BUFFER_BYTES, FLUSH_PERIOD, MAX_OUTPUTS, POLL_BUDGET, RECYCLE_PERIOD, RING_SIZE };
/** One transmit head word per 64-byte line (assumption CACHE); must be 16-byte aligned (see device.addOutput). */
const HEAD_STRIDE_BYTES = 64;
/**
 * receive() looks this many slots ahead (one cache line pair of descriptors) when the previous look found nothing
 * ready: one Atomics.load then covers up to this many packets. Power of two, < RING_SIZE - RECYCLE_PERIOD.
 */
const RECEIVE_LOOKAHEAD = 8;

const RING_MASK = RING_SIZE - 1;
const DESCRIPTOR_WORDS = R.DESCRIPTOR_BYTES / 4;
// Section 7.1.5 Legacy Receive Descriptor Format (write-back): length = bits 15:0 of Q1, DD = bit 32 of Q1
const RX_LENGTH = R.LEGACY_RX_W2_LENGTH;
const RX_STATUS_DD = R.LEGACY_RX_W3_STATUS_DD;
const RX_STATUS_EOP = R.LEGACY_RX_W3_STATUS_EOP;
// Section 7.2.3.2.2 Legacy Transmit Descriptor Format: EOP | IFCS on every packet, RS to ask for a head write-back
const TX_COMMAND = (R.LEGACY_TX_W2_CMD_EOP | R.LEGACY_TX_W2_CMD_IFCS) >>> 0;
const TX_COMMAND_RS = R.LEGACY_TX_W2_CMD_RS;

/** A piece of shared memory: enough to rebuild views of it in another thread. */
export interface SharedRegion {
  readonly buffer: SharedArrayBuffer;
  readonly byteOffset: number;
  readonly byteLength: number;
}

/** Register a fast path writes: a 32-bit register of a device's BAR0 (plain data: a worker re-creates its view). */
export interface SharedRegister {
  readonly bar0: SharedArrayBuffer;
  /** Byte offset of the register in BAR0 (a multiple of 4). */
  readonly offset: number;
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
  readonly stats: AgentStats;
  /** Pre-made views of each slot's buffer (BUFFER_BYTES long), indexed by slot. */
  readonly packets: readonly Uint8Array[];
  readonly views: readonly DataView[];
  /** The handler's outputs array, reused for every packet and zeroed after each. */
  readonly outputs: Uint8Array;
  faults: HandlerFaults = new HandlerFaults();
  private readonly rings: Uint32Array[];
  private readonly ring0: Uint32Array;
  private readonly transmitHeads: Uint32Array;
  private readonly receiveTailRegister: DeviceRegister;
  private readonly transmitTailRegisters: DeviceRegister[];
  /** Next slot to transmit (TinyNF's "processed delimiter"). */
  private processedDelimiter = 0;
  /** Next slot to look at for a received packet (= processedDelimiter unless receive() ran ahead). */
  private receiveDelimiter = 0;
  /** Packets transmitted since the last tail write. */
  private unflushed = 0;
  /** Last value written to RDT (setInput writes RING_SIZE - 1). */
  private receiveTail = RING_SIZE - 1;
  /** Slots from receiveDelimiter on whose packets are known to be received (DD seen by an Atomics.load). */
  private receivable = 0;

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
    this.rings = layout.rings.map((r) => new Uint32Array(r.buffer, r.byteOffset, RING_SIZE * DESCRIPTOR_WORDS));
    this.ring0 = this.rings[0];
    const heads = layout.transmitHeads;
    this.transmitHeads = new Uint32Array(heads.buffer, heads.byteOffset, heads.byteLength / 4);
    this.receiveTailRegister = deviceRegister(layout.receiveTail);
    this.transmitTailRegisters = layout.transmitTails.map(deviceRegister);
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
    this.noOutputs = new Uint8Array(this.outputsCount);
  }

  /** Run the handler on every packet available now (at most POLL_BUDGET); flushes when the input is idle. */
  poll(handler: PacketHandler): number {
    const outputs = this.outputs;
    const packets = this.packets;
    const views = this.views;
    // One packet at a time, in order, as TinyNF: receive, handle, transmit; receive() flushes when the input is idle.
    let count = 0;
    while (count < POLL_BUDGET) {
      const slot = this.receive();
      if (slot < 0) break;
      let length: number;
      try {
        length = handler(packets[slot], views[slot], this.receivedLength(slot), outputs);
      } catch (e) {
        // the packet is dropped (null descriptors, slot recycled in order) before the fault is reported or rethrown
        outputs.fill(0);
        this.transmit(0, outputs);
        count++;
        this.faults.threw(this.stats, e);
        continue;
      }
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
    for (;;) {
      const slot = this.receiveDelimiter;
      if (this.receivable === 0 && !this.received(slot)) return -1;
      // Section 7.1.5: EOP (bit 1 of word 3) ends a frame; without it the frame continues in the next descriptor.
      // ASSUMPTION (as TinyNF): a frame fits one buffer. A NIC that spreads one over several (jumbo frames enabled,
      // larger than BUFFER_BYTES) gets it dropped whole, never forwarded in pieces: each of its descriptors is
      // retired with null descriptors, in order (once the packets before it are transmitted), and counted.
      if ((this.ring0[slot * 4 + 3] & RX_STATUS_EOP) === 0 || this.discarding) {
        if (slot !== this.processedDelimiter) return -1;
        this.dropFragment(slot);
        continue;
      }
      this.receivable--;
      this.receiveDelimiter = (slot + 1) & RING_MASK;
      this.stats.rxPackets++;
      return slot;
    }
  }

  /** Frames dropped because they spanned several receive descriptors (see receive()). */
  multiDescriptorFrames = 0;
  /** Inside a multi-descriptor frame being dropped. */
  private discarding = false;
  private readonly noOutputs: Uint8Array;

  private dropFragment(slot: number): void {
    const eop = (this.ring0[slot * 4 + 3] & RX_STATUS_EOP) !== 0;
    this.discarding = !eop;
    if (eop) this.multiDescriptorFrames++;
    this.receivable--;
    this.receiveDelimiter = (slot + 1) & RING_MASK;
    this.stats.rxPackets++;
    this.transmit(0, this.noOutputs); // null descriptors on every output; counted in droppedPackets
  }

  /** Whether the descriptor at `slot` is done (then `receivable` says how many from it on are); flushes if not. */
  private received(slot: number): boolean {
    // Section 7.1.5 Legacy Receive Descriptor Format: DD is bit 32 of Q1 (bit 0 of word 3). The DD read must be
    // an acquire (Atomics.load): it orders the reads of the length and of the packet after the NIC's writes.
    const ring0 = this.ring0;
    if ((Atomics.load(ring0, slot * 4 + 3) & RX_STATUS_DD) === 0) {
      if (this.unflushed !== 0) this.flush();
      if (this.receiveDelimiter === this.processedDelimiter) this.recycle();
      return false;
    }
    // An Atomics.load costs ~9 ns in Node 20 (a builtin call, not inlined): as much as the rest of a no-op packet.
    // So look ahead once: if the descriptor RECEIVE_LOOKAHEAD - 1 slots on is done too, so are all in between,
    // and the one acquire covers them all.
    // INTERPRETATION-MISSING: the data sheet does not say in so many words that receive descriptors are written
    // back in ring order, but the head only moves forward (Section 8.2.3.8.4 RDH), write-backs are of "used"
    // descriptors packed into consecutive cache-line chunks (the receive write-back text of Section 7.1, as in the
    // 82598 data sheet's 3.5.2.7), and posted PCIe writes arrive in order: every descriptor between was done
    // before the later one. A slot never holds a stale DD from its previous lap: transmit() zeroes word 3 of every
    // slot it hands back, and the NIC never writes past RDT.
    this.receivable = (Atomics.load(ring0, ((slot + RECEIVE_LOOKAHEAD - 1) & RING_MASK) * 4 + 3) & RX_STATUS_DD) !== 0 ? RECEIVE_LOOKAHEAD : 1;
    return true;
  }

  /** Length of the packet received in `slot` (Section 7.1.5: bits 15:0 of Q1). */
  receivedLength(slot: number): number {
    return this.ring0[slot * 4 + 2] & RX_LENGTH;
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
    let bad = false;
    const returned: unknown = length;
    // an integer 0..BUFFER_BYTES (`>>> 0` turns anything else, NaN, fractions, negatives, non-numbers, into another value)
    if ((length >>> 0) !== length || length > BUFFER_BYTES || length === 0) {
      if (length !== 0) {
        this.stats.invalidLengths++;
        bad = true;
      }
      length = 0;
      outputs.fill(0);
    }
    // Section 7.2.3.2.2 Legacy Transmit Descriptor Format: RS ("report status") makes the NIC write the head back
    const rs = (slot & (RECYCLE_PERIOD - 1)) === RECYCLE_PERIOD - 1 ? TX_COMMAND_RS : 0;
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
    if (bad) this.faults.badLength(this.stats, returned, BUFFER_BYTES);
  }

  /** Write every output's transmit tail: plain stores, after the descriptor stores (assumption ORDERING). */
  flush(): void {
    for (let n = 0; n < this.outputsCount; n++) {
      this.transmitTailRegisters[n].write32(this.processedDelimiter);
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
      this.receiveTailRegister.write32(tail);
    }
  }
}

/** The tail register a layout names, as device memory (checked once: aligned, inside BAR0). */
function deviceRegister(r: SharedRegister): DeviceRegister {
  return new DeviceMemory(r.bar0, R.BAR0_REGISTERS_BYTES).register(r.offset);
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
    transmitTails.push({ bar0: outputs[r].bar0.buffer, offset: handle.tailOffset });
  }
  const receive = input.setInput(rings[0].phys, RING_SIZE, BUFFER_BYTES, 'legacy');
  const region = (m: DmaMemory, bytes: number): SharedRegion => ({ buffer: m.buffer, byteOffset: m.byteOffset, byteLength: bytes });
  return {
    buffers: region(buffers, RING_SIZE * BUFFER_BYTES),
    rings: rings.map((m) => region(m, RING_SIZE * R.DESCRIPTOR_BYTES)),
    transmitHeads: region(heads, outputs.length * HEAD_STRIDE_BYTES),
    receiveTail: { bar0: input.bar0.buffer, offset: receive.tailOffset },
    transmitTails,
  };
}

export { run } from './forwarder';
