// Shared memory between the run loop (writer) and the metrics HTTP worker (reader): a seqlock-protected text
// snapshot, and a status word the worker sets once it listens (or failed to).
export interface MetricsShared {
  readonly host: string;
  readonly port: number;
  /** [0] status, [1] sequence (odd while being written), [2] snapshot bytes, [3] status message bytes */
  readonly control: SharedArrayBuffer;
  readonly snapshot: SharedArrayBuffer;
  readonly message: SharedArrayBuffer;
}

export const STATUS_STARTING = 0;
export const STATUS_LISTENING = 1;
export const STATUS_ERROR = 2;
const STATUS = 0;
const SEQ = 1;
const LENGTH = 2;
const MESSAGE_LENGTH = 3;

export function createShared(host: string, port: number, snapshotBytes = 1 << 20): MetricsShared {
  return { host, port, control: new SharedArrayBuffer(16), snapshot: new SharedArrayBuffer(snapshotBytes), message: new SharedArrayBuffer(1024) };
}

export function writeStatus(s: MetricsShared, status: number, message: string): void {
  const bytes = Buffer.from(message, 'utf8').subarray(0, s.message.byteLength);
  new Uint8Array(s.message).set(bytes);
  const c = new Int32Array(s.control);
  Atomics.store(c, MESSAGE_LENGTH, bytes.length);
  Atomics.store(c, STATUS, status);
  Atomics.notify(c, STATUS);
}

export function readStatus(s: MetricsShared): { status: number; message: string } {
  const c = new Int32Array(s.control);
  const status = Atomics.load(c, STATUS);
  return { status, message: Buffer.from(new Uint8Array(s.message, 0, Atomics.load(c, MESSAGE_LENGTH))).toString('utf8') };
}

/** Wait (blocking) until the worker listens or fails, at most `ms`. */
export function waitStatus(s: MetricsShared, ms: number): void {
  Atomics.wait(new Int32Array(s.control), STATUS, STATUS_STARTING, ms);
}

export function writeSnapshot(s: MetricsShared, text: string): void {
  const c = new Int32Array(s.control);
  const bytes = Buffer.from(text, 'utf8');
  const n = Math.min(bytes.length, s.snapshot.byteLength);
  Atomics.add(c, SEQ, 1); // odd: being written
  new Uint8Array(s.snapshot).set(bytes.subarray(0, n));
  Atomics.store(c, LENGTH, n);
  Atomics.add(c, SEQ, 1); // even: consistent
}

export function readSnapshot(s: MetricsShared): string {
  const c = new Int32Array(s.control);
  for (;;) {
    const before = Atomics.load(c, SEQ);
    if ((before & 1) === 0) {
      const n = Atomics.load(c, LENGTH);
      const copy = Buffer.from(new Uint8Array(s.snapshot, 0, n));
      if (Atomics.load(c, SEQ) === before) return copy.toString('utf8');
    }
  }
}
