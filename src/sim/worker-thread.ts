// The main thread's side of one simulator thread of worker mode (sim-worker.ts): its Worker, its message port and
// its control words; requests and their replies, the statistics-read word protocol, waits and stop. SimWorker
// (worker.ts) has one per simulator thread and routes each port's business to the thread that serves the port.
import * as fs from 'fs';
import * as path from 'path';
import { MessageChannel, MessagePort, Worker, receiveMessageOnPort } from 'worker_threads';
import { TinyNfError } from '../env/environment';
import {
  CTRL_ACK,
  CTRL_DONE,
  CTRL_ERROR,
  CTRL_READY,
  CTRL_SLEEP,
  CTRL_STAT_DONE,
  CTRL_STAT_OFFSET,
  CTRL_STAT_PORT,
  CTRL_STAT_REQUEST,
  CTRL_STAT_VALUE,
  CTRL_STOP,
  FromWorker,
  ToWorker,
  WorkerResults,
  WorkerSetup,
} from './worker-protocol';

/** Longest a synchronous request waits for the thread's answer. */
export const REQUEST_TIMEOUT_MS = 10_000;

export class SimThreadHandle {
  private readonly worker: Worker;
  private readonly port: MessagePort;
  private readonly control: Int32Array;
  private readonly exitPromise: Promise<void>;
  private workerError: string | null = null;
  private hasExited = false;

  /** Start the thread over `setup` (returns at once: see waitReady). */
  constructor(setup: WorkerSetup) {
    this.control = new Int32Array(setup.control);
    const script = path.join(__dirname, 'sim-worker.js');
    if (!fs.existsSync(script)) throw new TinyNfError(`${script} is missing: the simulator worker runs compiled JavaScript (npm run build)`);
    const channel = new MessageChannel();
    this.port = channel.port1;
    this.worker = new Worker(script, {
      workerData: { setup, port: channel.port2 },
      transferList: [channel.port2],
    });
    this.exitPromise = new Promise<void>((resolve) => {
      this.worker.once('exit', () => {
        this.hasExited = true;
        resolve();
      });
    });
    this.worker.on('error', (e: Error) => {
      this.workerError = e.message;
    });
    // A forgotten stop() must not keep the process alive (the worker spins); stop() takes a reference again.
    this.worker.unref();
    this.port.unref();
  }

  /** Return once the thread's NICs exist (their register files hold power-on values). */
  waitReady(timeoutMs: number): void {
    this.waitFor(CTRL_READY, 0, timeoutMs, 'start');
  }

  /** Post a request and wait for the reply (returns its frames, if any); the thread's error becomes a TinyNfError. */
  request(msg: ToWorker): Uint8Array[] | undefined {
    const ack = Atomics.load(this.control, CTRL_ACK);
    this.port.postMessage(msg);
    Atomics.notify(this.control, CTRL_SLEEP);
    this.waitFor(CTRL_ACK, ack, REQUEST_TIMEOUT_MS, msg.type);
    const reply = this.receive();
    if (reply === undefined) throw new TinyNfError(`simulator worker: no reply to '${msg.type}'`);
    if (reply.type === 'error') throw new TinyNfError(`simulator worker failed: ${reply.message}`);
    if (reply.type !== 'reply') throw new TinyNfError(`simulator worker: unexpected '${reply.type}' message in reply to '${msg.type}'`);
    if (reply.error !== null) throw new TinyNfError(reply.error);
    return reply.frames;
  }

  /**
   * Read a statistics register of the thread's port `port` (its position among the thread's ports) at `offset`:
   * the word protocol of worker-protocol.ts (CTRL_STAT_REQUEST), answered within one loop iteration.
   */
  readStatistic32(port: number, offset: number): number {
    const c = this.control;
    c[CTRL_STAT_PORT] = port;
    c[CTRL_STAT_OFFSET] = offset;
    const request = (Atomics.add(c, CTRL_STAT_REQUEST, 1) + 1) | 0;
    Atomics.notify(c, CTRL_SLEEP);
    const deadline = performance.now() + REQUEST_TIMEOUT_MS;
    for (;;) {
      const done = Atomics.load(c, CTRL_STAT_DONE);
      if (done === request) return c[CTRL_STAT_VALUE] >>> 0;
      this.waitFor(CTRL_STAT_DONE, done, Math.max(1, deadline - performance.now()), 'readStatistic32');
    }
  }

  /** Stop the thread and take its results (synchronous); it then exits on its own (see exit). */
  stopSync(): WorkerResults {
    if (Atomics.load(this.control, CTRL_ERROR) === 0 && this.workerError === null) {
      Atomics.store(this.control, CTRL_STOP, 1);
      Atomics.notify(this.control, CTRL_SLEEP);
      this.waitFor(CTRL_DONE, 0, REQUEST_TIMEOUT_MS, 'stop');
    }
    const msg = this.receive();
    this.port.close();
    if (msg === undefined || msg.type !== 'done') {
      void this.worker.terminate();
      throw new TinyNfError(`simulator worker failed: ${msg?.type === 'error' ? msg.message : (this.workerError ?? 'no results')}`);
    }
    return { violations: msg.violations, warnings: msg.warnings, collected: msg.collected };
  }

  /** Keep the process alive until the thread has exited (stop() calls this first). */
  ref(): void {
    this.worker.ref();
  }

  /** Wait until the thread has exited (after stopSync; terminated if it takes over 5 s). */
  async exit(): Promise<void> {
    const timer = setTimeout(() => void this.worker.terminate(), 5000);
    await this.exitPromise;
    clearTimeout(timer);
  }

  /** Forcefully end the thread (another thread of the machine failed). */
  terminate(): void {
    void this.worker.terminate();
  }

  get exited(): boolean {
    return this.hasExited;
  }

  /** Wait until control[word] differs from `from` (the thread changed it), or the thread failed, or the timeout. */
  private waitFor(word: number, from: number, timeoutMs: number, what: string): void {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      if (Atomics.load(this.control, word) !== from) return;
      if (Atomics.load(this.control, CTRL_ERROR) !== 0) {
        const msg = this.receive();
        void this.worker.terminate();
        throw new TinyNfError(`simulator worker failed during ${what}: ${msg?.type === 'error' ? msg.message : 'unknown error'}`);
      }
      const left = deadline - performance.now();
      if (left <= 0) {
        void this.worker.terminate();
        throw new TinyNfError(`simulator worker did not answer '${what}' within ${timeoutMs} ms${this.workerError ? `: ${this.workerError}` : ''}`);
      }
      Atomics.wait(this.control, word, from, Math.min(left, 50));
    }
  }

  private receive(): FromWorker | undefined {
    const m = receiveMessageOnPort(this.port);
    return m === undefined ? undefined : (m.message as FromWorker);
  }
}
