// What a forwarder does when an NF's handler misbehaves (docs/contracts.md, "Handler faults"), the same for every
// driver model:
// - the handler threw, or returned a length that is not an integer 0..buffer size: the packet is dropped (the
//   restricted model gives its slot a null descriptor, the flexible model frees the buffer, the compat shim frees the
//   mbuf), counted in the forwarder's `handlerErrors` (and in droppedPackets), and forwarding goes on with the next
//   packet: the driver's state (which slot is next to transmit, which buffers are owned) never depends on the handler
//   returning normally;
// - the first fault of each forwarder is reported once (the NF's name, the port, the error's stack);
// - with failFast, the forwarder throws a HandlerFaultError (a TinyNfError: one line) instead, after dropping the
//   packet, so the program stops at once.
// Outputs a handler "has not got" cannot be set: `outputs` is a Uint8Array of exactly outputsCount entries, and a
// typed array ignores writes outside its length (ECMAScript IntegerIndexedElementSet), so no frame can go anywhere
// the NF did not declare.
import { TinyNfError } from '../env/environment';

export class HandlerFaultError extends TinyNfError {}

export interface HandlerFault {
  /** The NF's name. */
  readonly nf: string;
  /** The input port whose handler faulted. */
  readonly port: number;
  /** What the handler threw, or a TinyNfError describing the bad length it returned. */
  readonly error: unknown;
}

/** Something that counts faults (a forwarder's stats). */
export interface FaultCounter {
  handlerErrors: number;
}

export interface HandlerFaultOptions {
  /** The NF's name, for reports (default 'NF'). */
  nf?: string;
  /** The input port (default 0). */
  port?: number;
  /** Throw a HandlerFaultError at the first fault instead of dropping the packet and going on (default false). */
  failFast?: boolean;
  /** Called once, at the first fault (default: print it to stderr). null: do not report. */
  report?: ((fault: HandlerFault) => void) | null;
}

/**
 * The report an NF's forwarders share: `report` (undefined: print to stderr; null: none) called for the first fault
 * only, whichever port's handler it comes from.
 */
export function firstFaultReport(report: ((fault: HandlerFault) => void) | null | undefined): ((fault: HandlerFault) => void) | null {
  const once = report === undefined ? defaultFaultReport : report;
  if (once === null) return null;
  let reported = false;
  return (fault) => {
    if (reported) return;
    reported = true;
    once(fault);
  };
}

/** One line describing an error (the first line of its message). */
export function errorLine(error: unknown): string {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : `thrown value ${String(error)}`;
  return text.split('\n')[0];
}

export function defaultFaultReport(fault: HandlerFault): void {
  const stack = fault.error instanceof Error && fault.error.stack !== undefined ? fault.error.stack : errorLine(fault.error);
  process.stderr.write(
    `tinynf: NF ${fault.nf}: the handler of port ${fault.port} failed; the packet was dropped and forwarding goes on ` +
      `(every fault is counted in handler_errors, only this first one is reported; --fail-fast stops instead):\n${stack}\n`,
  );
}

export class HandlerFaults {
  readonly nf: string;
  readonly port: number;
  readonly failFast: boolean;
  private readonly report: ((fault: HandlerFault) => void) | null;
  /** The first fault, or null. */
  first: HandlerFault | null = null;

  constructor(options: HandlerFaultOptions = {}) {
    this.nf = options.nf ?? 'NF';
    this.port = options.port ?? 0;
    this.failFast = options.failFast ?? false;
    this.report = options.report === undefined ? defaultFaultReport : options.report;
  }

  /** The handler threw `error` (the packet has been dropped already). */
  threw(counter: FaultCounter, error: unknown): void {
    counter.handlerErrors++;
    const first = this.first === null;
    if (first) this.first = { nf: this.nf, port: this.port, error };
    if (this.failFast) throw new HandlerFaultError(`NF ${this.nf}: the handler of port ${this.port} failed: ${errorLine(error)} (--fail-fast: stopped)`);
    if (first && this.report !== null) this.report(this.first!);
  }

  /** The handler returned `length`, not an integer 0..maxLength (the packet has been dropped already). */
  badLength(counter: FaultCounter, length: unknown, maxLength: number): void {
    const shown = typeof length === 'number' ? String(length) : `${typeof length} ${String(length)}`;
    this.threw(counter, new TinyNfError(`returned length ${shown}, not an integer 0..${maxLength}`));
  }
}
