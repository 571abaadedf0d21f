// A simulated port's wire plugged into a Linux TAP device: frames the kernel sends on the TAP arrive at the
// simulated NIC (WireInput), frames the NIC transmits are given to the kernel (WireOutput).
// The OS side (open /dev/net/tun, TUNSETIFF, namespaces, read/write) is src/env/tap.ts.
import { TapDevice, TapOpenOptions } from '../../env/tap';
import { MIN_WIRE_FRAME, WireInput, WireOutput } from '../wire';

/**
 * Interpretation: the kernel hands TAP frames to us unpadded (an ARP request is 42 bytes), whereas a real
 * Ethernet partner pads every frame to 60 bytes + FCS (IEEE 802.3 minimum frame size). The input pads short
 * frames with zeros to MIN_WIRE_FRAME (60) bytes, so the NIC sees what a real wire would deliver.
 */
export { MIN_WIRE_FRAME };

/** Frames the kernel transmitted on the TAP, as they arrive at the NIC. Never waits: 0 if none. */
export class TapInput implements WireInput {
  frames = 0;

  constructor(private readonly wire: TapWire) {}

  next(into: Uint8Array, _nowNs: number): number {
    const n = this.wire.device.read(into);
    if (n === 0) return 0;
    this.frames++;
    if (n < MIN_WIRE_FRAME && into.length >= MIN_WIRE_FRAME) {
      into.fill(0, n, MIN_WIRE_FRAME);
      return MIN_WIRE_FRAME;
    }
    return n;
  }

  close(): void {
    this.wire.release();
  }
}

/** Frames the NIC transmitted, written to the TAP (the kernel receives them on the interface). */
export class TapOutput implements WireOutput {
  frames = 0;

  constructor(private readonly wire: TapWire) {}

  frame(frame: Uint8Array, length: number, _nowNs: number): void {
    if (this.wire.device.write(frame, length)) this.frames++;
  }

  /** Frames the kernel refused (e.g. interface down). */
  get errors(): number {
    return this.wire.device.writeErrors;
  }

  close(): void {
    this.wire.release();
  }
}

const openWires = new Map<string, TapWire>();

/** One TAP device as a wire: `input` and `output` share its fd. */
export class TapWire {
  readonly input: TapInput;
  readonly output: TapOutput;
  private references = 1;

  private constructor(readonly device: TapDevice) {
    this.input = new TapInput(this);
    this.output = new TapOutput(this);
  }

  /** Open the TAP `name` (see TapDevice.open for where it is looked for). Call close() when done. */
  static open(name: string, options: TapOpenOptions = {}): TapWire {
    return new TapWire(TapDevice.open(name, options));
  }

  /**
   * The process-wide wire for TAP `name`, opened on first use and shared by later callers (so an input and
   * an output described separately use one fd); each acquire needs one release (or close()).
   */
  static acquire(name: string, options: TapOpenOptions = {}): TapWire {
    const existing = openWires.get(name);
    if (existing !== undefined && !existing.device.closed) {
      existing.references++;
      return existing;
    }
    const wire = TapWire.open(name, options);
    openWires.set(name, wire);
    return wire;
  }

  get name(): string {
    return this.device.name;
  }

  /** Drop one reference; the fd closes with the last one. */
  release(): void {
    if (this.references === 0) return;
    this.references--;
    if (this.references === 0) {
      this.device.close();
      if (openWires.get(this.device.name) === this) openWires.delete(this.device.name);
    }
  }

  /** Close the fd now, whatever the references. */
  close(): void {
    this.references = 1;
    this.release();
  }
}
