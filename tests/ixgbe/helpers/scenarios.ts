// Driver behaviours checked the same way on any "rig" (a NIC stand-in plus a way to build forwarders).
import type { Forwarder } from '../../../src/ixgbe/forwarder';
import type { PacketHandler } from '../../../src/ixgbe/handler';

export interface Rig {
  /** A forwarder receiving on the input, with `outputs` outputs (rig-specific wires). */
  forwarder(outputs: number): Forwarder;
  send(frame: Uint8Array): void;
  /** Let the NIC run a bit. */
  step(): void;
  /** Frames that left output k since the last call. */
  take(k: number): Uint8Array[];
  /** Frames the NIC dropped at receive for lack of descriptors. */
  missed(): number;
  /** Make output 0 much slower than the input. */
  slowOutput(): void;
  /** Checks run after every step (e.g. register invariants); throws on violation. */
  check(): void;
}

/** A frame of `length` bytes carrying sequence number `seq` (bytes 14..17) and a payload derived from it. */
export function frame(seq: number, length = 64 + (seq % 7) * 97): Uint8Array {
  const f = new Uint8Array(length);
  f.set([0x02, 0, 0, 0, 0, 0x01, 0x02, 0, 0, 0, 0, 0x02, 0x08, 0x00]);
  new DataView(f.buffer).setUint32(14, seq);
  for (let i = 18; i < length; i++) f[i] = (seq * 31 + i) & 0xff;
  return f;
}

/** Check a frame made by frame(): returns its sequence number or throws if the payload is corrupted. */
export function verify(f: Uint8Array, macSwapped = false): number {
  const seq = new DataView(f.buffer, f.byteOffset).getUint32(14);
  const expected = frame(seq, f.length);
  if (macSwapped) {
    expected.set(frame(seq, f.length).subarray(6, 12), 0);
    expected.set(frame(seq, f.length).subarray(0, 6), 6);
  }
  for (let i = 0; i < f.length; i++) {
    if (f[i] !== expected[i]) throw new Error(`frame ${seq} corrupted at byte ${i}`);
  }
  return seq;
}

export const forwardAll: PacketHandler = (_p, _d, length, outputs) => {
  outputs.fill(1);
  return length;
};

export const swapMacs: PacketHandler = (packet, _d, length, outputs) => {
  for (let i = 0; i < 6; i++) {
    const t = packet[i];
    packet[i] = packet[6 + i];
    packet[6 + i] = t;
  }
  outputs[0] = 1;
  return length;
};

/** Pump: send frames `from`..`to` (exclusive) at most `perStep` per step, polling; then drain. */
export function pump(rig: Rig, f: Forwarder, handler: PacketHandler, from: number, to: number, perStep = 32): void {
  let next = from;
  let idle = 0;
  for (let round = 0; round < 1_000_000 && idle < 20; round++) {
    for (let i = 0; i < perStep && next < to; i++) rig.send(frame(next++));
    rig.step();
    const n = f.poll(handler);
    rig.check();
    idle = next === to && n === 0 ? idle + 1 : 0;
  }
}

export function collect(rig: Rig, k: number, sink: number[], macSwapped = false): void {
  for (const f of rig.take(k)) sink.push(verify(f, macSwapped));
}

export function range(from: number, to: number): number[] {
  return Array.from({ length: to - from }, (_, i) => from + i);
}
