// What the main thread (worker.ts) and the simulator thread (sim-worker.ts) share: the layout of the control and
// statistics SharedArrayBuffers, and the messages. Plain data only (it crosses postMessage / workerData).
import type { Violation } from './checker';
import type { TxPacing } from './nic';
import type { InputDescription, OutputDescription } from './wires/describe';

/** Input descriptions: the wires' kinds, plus `none`. */
export type SimInputDescription = InputDescription;
/**
 * Output descriptions: the wires' kinds, plus `collect` (copies of frames are posted back to the main thread,
 * for tests and small captures; at most `limit` frames, default 100000).
 */
export type SimOutputDescription = OutputDescription | { kind: 'collect'; limit?: number };

// Control words (Int32Array over the control SAB)
export const CTRL_STOP = 0;
export const CTRL_READY = 1;
/** Incremented by the worker after it processed a main-thread message (synchronous requests wait for it). */
export const CTRL_ACK = 2;
/** Used only to sleep (Atomics.wait on a word nobody changes). */
export const CTRL_SLEEP = 3;
export const CTRL_ERROR = 4;
export const CONTROL_WORDS = 8;

// Statistics (Float64Array over the stats SAB): per port, then global
export const STAT_NAMES = ['rxPackets', 'rxBytes', 'rxMissed', 'rxFiltered', 'rxNoDescriptor', 'txPackets', 'txBytes', 'txNullDescriptors', 'dmaErrors', 'polls', 'idlePolls', 'violations'] as const;
export const STATS_PER_PORT = STAT_NAMES.length;
/** Global slots after the per-port ones: loop iterations, iterations where no NIC had anything to do. */
export const GLOBAL_ITERATIONS = 0;
export const GLOBAL_IDLE_ITERATIONS = 1;
export const GLOBAL_STATS = 2;

export interface PortSetup {
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
  window: SharedArrayBuffer;
  windowPhys: number;
  reserved: number;
  stagingBytes: number;
  ports: PortSetup[];
  control: SharedArrayBuffer;
  stats: SharedArrayBuffer;
  /** The main thread's performance.timeOrigin: both threads measure time from it. */
  timeOriginMs: number;
  /** Watched registers scanned per poll (a rotating window; tails of enabled queues are checked every poll). */
  scanWordsPerPoll: number;
  /** After this many consecutive idle iterations, sleep idleSleepUs between iterations (0 = always spin). */
  idleSpins: number;
  idleSleepUs: number;
}

/** Main thread -> worker. */
export type ToWorker =
  | { type: 'region'; phys: number; buffer: SharedArrayBuffer; byteOffset: number; length: number }
  | { type: 'pacing'; port: number; pacing: TxPacing }
  | { type: 'input'; port: number; input: SimInputDescription }
  | { type: 'output'; port: number; output: SimOutputDescription };

/** Worker -> main thread. */
export type FromWorker =
  | { type: 'violation'; violation: Violation }
  | { type: 'warning'; violation: Violation }
  | { type: 'frame'; port: number; frame: Uint8Array; timeNs: number }
  | { type: 'error'; message: string };
