// The wire a simulated port is plugged into. Frames on this interface exclude the 4-byte FCS (as pcap
// captures and TAP devices do); the NIC accounts for the FCS itself.

/**
 * The Ethernet minimum frame without FCS (64 bytes with it, IEEE 802.3): every real transmitter pads shorter frames
 * with zeros; inputs that stand for a transmitter (TAP, pcap replay) do the same. A shorter frame at the NIC is a runt.
 */
export const MIN_WIRE_FRAME = 60;
/** Largest frame (without FCS) any input may hand over: the NIC's receive staging buffer (nic-constants.ts MAX_FRAME_BYTES). */
export const MAX_WIRE_FRAME = 16 * 1024;

/** Frames arriving at the NIC from the wire. */
export interface WireInput {
  /** Copy the next frame due at or before `nowNs` into `into`; return its length, or 0 if none is due. */
  next(into: Uint8Array, nowNs: number): number;
}

/**
 * An input the NIC can hand a place in DMA memory instead of a view (its direct receive path: the frame goes
 * straight into the descriptor's buffer, with no staging copy and no typed-array view per buffer).
 */
export interface DirectInput extends WireInput {
  /** The longest frame the input produces (the NIC uses nextAt only when that fits the receive buffers). */
  readonly maxFrameLength: number;
  /**
   * Like next(), writing the frame at byte `at` of `bytes`, a whole buffer (`words` is the same buffer as 32-bit
   * words, for word-wise copies when `at` is a multiple of 4). At least maxFrameLength bytes from `at` are the
   * receive buffer's: nothing may be written past the frame's length.
   */
  nextAt(bytes: Uint8Array, words: Int32Array, at: number, nowNs: number): number;
}

/**
 * A direct input whose frames, in its usual case, are one length stamped from per-flow templates in turn: the
 * NIC's receive engine (wasm/rx-engine.ts) then stamps whole bursts itself, with the input's state handed over (its
 * constants in the engine's state block, a Float64Array with the indices of wasm/rx-engine.ts S; the rest as the
 * kernel's parameters) and back.
 */
export interface StampingInput extends DirectInput {
  /** The templates (one per flow, in flow order, all as long as the frames), or null if frames are not so. */
  stampTemplates(): Uint8Array[] | null;
  /**
   * Its constants (rate, templates' length...) into the block; false if the engine cannot produce its next frames
   * now (then next()/nextAt() do).
   */
  saveStampState(state: Float64Array): boolean;
  /** What changes per frame, handed to the engine as parameters: the next frame's flow, frames so far, wire bits. */
  readonly stampFlow: number;
  readonly stampSent: number;
  readonly stampWireBits: number;
  /** Its state back from the block after a burst (the doubles, and the integer outputs: rx-engine.ts S, SI). */
  loadStampState(state: Float64Array, ints: Int32Array): void;
}

/** Frames the NIC transmits onto the wire. */
export interface WireOutput {
  /** A frame left the NIC at `nowNs`; `frame` is valid only during the call (copy it to keep it). */
  frame(frame: Uint8Array, length: number, nowNs: number): void;
}

/** An input tests push frames into; each is due immediately (or at its given time). */
export class QueueInput implements WireInput {
  private readonly frames: { data: Uint8Array; atNs: number }[] = [];
  private head = 0;

  push(frame: Uint8Array, atNs = 0): void {
    this.frames.push({ data: frame.slice(), atNs });
  }

  get pending(): number {
    return this.frames.length - this.head;
  }

  next(into: Uint8Array, nowNs: number): number {
    if (this.head === this.frames.length) return 0;
    const f = this.frames[this.head];
    if (f.atNs > nowNs) return 0;
    this.head++;
    if (this.head === this.frames.length) {
      this.frames.length = 0;
      this.head = 0;
    }
    into.set(f.data);
    return f.data.length;
  }
}

/** An output that keeps a copy of every frame (for tests). */
export class CollectingOutput implements WireOutput {
  readonly frames: Uint8Array[] = [];
  readonly timesNs: number[] = [];

  frame(frame: Uint8Array, length: number, nowNs: number): void {
    this.frames.push(frame.slice(0, length));
    this.timesNs.push(nowNs);
  }

  /** Return the frames collected so far and forget them. */
  take(): Uint8Array[] {
    const out = this.frames.splice(0, this.frames.length);
    this.timesNs.length = 0;
    return out;
  }
}
