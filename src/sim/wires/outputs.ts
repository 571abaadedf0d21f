// Simple wire outputs: counters, a per-frame callback, and a tee. (CollectingOutput, which keeps copies
// for tests, is in ../wire.ts; PcapWriter in ./pcap.ts; the TAP output in ./tap.ts.)
import { WireOutput } from '../wire';

/** Bytes the FCS adds to every frame on the wire (frames on the wire interface exclude it). */
export const FCS_BYTES = 4;

/**
 * Counts frames and bytes (including the 4 FCS bytes, as the NIC's byte counters do). The counters live in
 * a Float64Array [packets, bytes], which may be over a SharedArrayBuffer so another thread can read them
 * (pass `counters`, e.g. new Float64Array(new SharedArrayBuffer(16))); exact up to 2^53.
 */
export class CountingOutput implements WireOutput {
  readonly counters: Float64Array;

  constructor(counters?: Float64Array) {
    this.counters = counters ?? new Float64Array(2);
    if (this.counters.length < 2) throw new RangeError('CountingOutput needs a Float64Array of at least 2 elements');
  }

  get packets(): number {
    return this.counters[0];
  }

  get bytes(): number {
    return this.counters[1];
  }

  frame(_frame: Uint8Array, length: number, _nowNs: number): void {
    this.counters[0] += 1;
    this.counters[1] += length + FCS_BYTES;
  }

  reset(): void {
    this.counters[0] = 0;
    this.counters[1] = 0;
  }
}

/** Called for every frame; `frame` is valid only during the call (copy what you keep). */
export type FrameCheck = (frame: Uint8Array, length: number, nowNs: number) => void;

/** Calls a function for every frame (tests assert inside it; a thrown error propagates to the NIC's caller). */
export class CheckerOutput implements WireOutput {
  private count = 0;

  constructor(private readonly check: FrameCheck) {}

  /** Frames checked so far. */
  get packets(): number {
    return this.count;
  }

  frame(frame: Uint8Array, length: number, nowNs: number): void {
    this.count++;
    this.check(frame, length, nowNs);
  }
}

/** Gives every frame to several outputs in order (e.g. count it and capture it). */
export class TeeOutput implements WireOutput {
  private readonly outputs: WireOutput[];

  constructor(...outputs: WireOutput[]) {
    this.outputs = outputs;
  }

  frame(frame: Uint8Array, length: number, nowNs: number): void {
    const outs = this.outputs;
    for (let i = 0; i < outs.length; i++) outs[i].frame(frame, length, nowNs);
  }
}

/** Discards every frame. */
export class NullOutput implements WireOutput {
  frame(_frame: Uint8Array, _length: number, _nowNs: number): void {}
}
