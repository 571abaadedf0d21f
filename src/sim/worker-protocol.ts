// What the main thread (worker.ts) and the simulator thread (sim-worker.ts) share: the layout of the control and
// statistics SharedArrayBuffers, and the messages. Plain data only (it crosses postMessage / workerData).
//
// Requests are synchronous for the main thread: it posts a ToWorker message on a MessageChannel, wakes the worker
// (Atomics.notify on CTRL_SLEEP), then Atomics.waits until CTRL_ACK moves and reads the reply with
// receiveMessageOnPort. The worker looks at its port every few hundred loop iterations and before idle sleeps.
// Statistics flow the other way without messages: the worker publishes its counters into the stats SAB.
import type { Violation } from './checker';
import type { SharedMemory } from './wasm/api';
import type { TxPacing } from './nic';
import type { InputDescription, OutputDescription } from './wires/describe';

/**
 * Input descriptions: the wires' kinds (generator, pcap, tap, none), plus `queue`: these frames (without FCS), all
 * due at once; the NIC's receive line-rate limit spaces them as a 10 Gb/s wire would.
 */
export type SimInputDescription = InputDescription | { kind: 'queue'; frames: Uint8Array[] };
/**
 * Output descriptions: the wires' kinds, plus `collect` (copies of frames are kept in the worker and returned by
 * stop(), for tests and small captures; at most `limit` frames, default 100000; later frames are only counted).
 */
export type SimOutputDescription = OutputDescription | { kind: 'collect'; limit?: number };

// Control words (Int32Array over the control SAB)
/** Set to 1 by the main thread: the worker finishes (posts its results) and exits. */
export const CTRL_STOP = 0;
/** Set to 1 by the worker once its NICs exist (register files at their power-on values). */
export const CTRL_READY = 1;
/** Incremented by the worker after it replied to a main-thread request. */
export const CTRL_ACK = 2;
/** Never changed: both threads sleep with Atomics.wait on it; the main thread notifies it to wake the worker. */
export const CTRL_SLEEP = 3;
/** Set to 1 by the worker when it failed (its last message on the port is an `error`). */
export const CTRL_ERROR = 4;
/** Set to 1 by the worker after it posted its `done` message (stop). */
export const CTRL_DONE = 5;
/**
 * Statistics reads (Environment.readStatistic32 -> SimWorker.readStatistic32): read-to-clear counters live in the
 * worker (the NIC counts them), so a driver's read is a request to the simulator thread, by words, no message:
 * the main thread writes CTRL_STAT_PORT and CTRL_STAT_OFFSET, increments CTRL_STAT_REQUEST (Atomics.add: the release
 * that publishes the two words) and notifies CTRL_SLEEP; the worker, which looks at CTRL_STAT_REQUEST every loop
 * iteration, reads the register (clearing it, SimNic.readStatistic32), writes CTRL_STAT_VALUE, then stores the
 * request number into CTRL_STAT_DONE (Atomics.store: the release that publishes the value) and notifies it. One
 * request at a time (only the main thread, which owns the SimWorker, makes them).
 */
export const CTRL_STAT_REQUEST = 6;
export const CTRL_STAT_DONE = 7;
export const CTRL_STAT_PORT = 8;
export const CTRL_STAT_OFFSET = 9;
/** The value read, as an Int32 (>>> 0 for the register value). */
export const CTRL_STAT_VALUE = 10;
export const CONTROL_WORDS = 16;

// Statistics (Float64Array over the stats SAB, one for every simulator thread of a machine): per port (by the
// machine's port number), then GLOBAL_STATS per thread (globalStatsAt)
export const STAT_NAMES = [
  'rxPackets',
  'rxBytes',
  'rxMissed',
  'rxFiltered',
  'rxNoDescriptor',
  'txPackets',
  'txBytes',
  'txNullDescriptors',
  'dmaErrors',
  'polls',
  'idlePolls',
  'violations',
  'warnings',
  'rxUndersize',
  'rxOversize',
  'rxBursts',
  'rxBurstsBehind',
] as const;
export type StatName = (typeof STAT_NAMES)[number];
export const STATS_PER_PORT = STAT_NAMES.length;
/** A thread's global slots (after the per-port ones): loop iterations, iterations where no NIC had anything to do. */
export const GLOBAL_ITERATIONS = 0;
export const GLOBAL_IDLE_ITERATIONS = 1;
/** Worker time (ns, main thread's time origin) of the last publication. */
export const GLOBAL_PUBLISHED_NS = 2;
/** Time (ns) spent in iterations where some NIC had work. */
export const GLOBAL_BUSY_NS = 3;
export const GLOBAL_STATS = 4;

export function statsBytes(ports: number, threads: number): number {
  return (ports * STATS_PER_PORT + threads * GLOBAL_STATS) * 8;
}

/** Index of simulator thread `thread`'s global slots in the stats Float64Array of a machine of `ports` ports. */
export function globalStatsAt(ports: number, thread: number): number {
  return ports * STATS_PER_PORT + thread * GLOBAL_STATS;
}

export interface PortSetup {
  /** The port's number in the machine (its stats slots, staging and engine areas); the thread's own are 0, 1, ... */
  index: number;
  address: string;
  lanId: number;
  mac: number[];
  bar0: SharedArrayBuffer;
  config: SharedArrayBuffer;
  bar0Phys: number;
  input: SimInputDescription | null;
  outputs: SimOutputDescription[];
  pacing: TxPacing;
}

export interface WorkerSetup {
  /** The DMA window: `memory`'s buffer (a shared WebAssembly.Memory, so that the receive engines work on it). */
  window: SharedArrayBuffer;
  memory: SharedMemory;
  windowPhys: number;
  reserved: number;
  /** allocateDma's end; each port's engine area follows (wasm/layout.ts engineArea). */
  allocationEnd: number;
  stagingBytes: number;
  /** The ports this thread serves (messages and CTRL_STAT_PORT name them by their position here). */
  ports: PortSetup[];
  /** This thread's control words (each thread has its own). */
  control: SharedArrayBuffer;
  /** The machine's statistics, shared by its threads: each writes its ports' slots and its own global ones. */
  stats: SharedArrayBuffer;
  /** Ports of the whole machine, and this thread's number among its threads (where its global slots are). */
  machinePorts: number;
  thread: number;
  /** The main thread's performance.timeOrigin: both threads measure time (ns) from it. */
  timeOriginMs: number;
  /** Watched registers scanned per poll (a rotating window; tails of enabled queues are checked every poll). */
  scanWordsPerPoll: number;
  /** After this many consecutive idle iterations, sleep idleSleepUs between iterations (0 sleep = always spin). */
  idleSpins: number;
  idleSleepUs: number;
}

/**
 * Main thread -> worker (each is answered by one `reply`; the worker publishes its counters just before replying, so
 * after any request the stats SAB is current as of the reply).
 *  - push: append frames (without FCS, due at once) to the port's queue input; a port whose input is not a queue
 *    gets a new queue input (the old input is closed);
 *  - take: the frames of the port's `collect` outputs so far (in the reply's `frames`), forgotten by the worker;
 *  - sync: a barrier: one full poll of every NIC (every register write made before the request is noticed), then
 *    the publication.
 */
export type ToWorker =
  | { type: 'region'; phys: number; buffer: SharedArrayBuffer; byteOffset: number; length: number }
  | { type: 'pacing'; port: number; pacing: TxPacing }
  | { type: 'input'; port: number; input: SimInputDescription }
  | { type: 'output'; port: number; output: SimOutputDescription }
  | { type: 'push'; port: number; frames: Uint8Array[] }
  | { type: 'take'; port: number }
  | { type: 'sync' };

/** What stop() gets back. */
export interface WorkerResults {
  violations: Violation[];
  warnings: Violation[];
  /** Frames of the `collect` outputs, per port. */
  collected: Uint8Array[][];
}

/** Worker -> main thread. */
export type FromWorker =
  | { type: 'reply'; error: string | null; frames?: Uint8Array[] }
  | ({ type: 'done' } & WorkerResults)
  | { type: 'error'; message: string };
