// Running agents on worker threads (the paper's multi-core setup, e.g. a 2-core policer: one agent per direction,
// each on its own core). The main thread sets up devices and agents (registers, memory); a worker attaches to the
// agents' queues through their layouts and runs them with handlers it builds itself from a factory module.
import * as path from 'path';
import { Worker } from 'worker_threads';
import { TinyNfError } from '../env/environment';
import { Agent, AgentLayout, AgentStats, MAX_OUTPUTS } from './agent';

/** Index of the stop flag in the control array. */
export const CONTROL_STOP = 0;
/** Per agent: rxPackets, droppedPackets, invalidLengths, handlerErrors, then txPackets of each of MAX_OUTPUTS outputs. */
export const STATS_PER_AGENT = 4 + MAX_OUTPUTS;

export interface AgentWorkerData {
  readonly layouts: readonly AgentLayout[];
  /** Absolute path of a JavaScript module exporting `handlerExport(args, agentIndex) => PacketHandler`. */
  readonly handlerModule: string;
  readonly handlerExport: string;
  readonly handlerArgs: unknown;
  readonly control: SharedArrayBuffer;
  readonly stats: SharedArrayBuffer;
}

export interface HandlerFactoryRef {
  readonly module: string;
  readonly export: string;
  /** Structured-cloneable arguments for the factory. */
  readonly args?: unknown;
}

export function publishStats(stats: Float64Array, agents: readonly Agent[]): void {
  for (let i = 0; i < agents.length; i++) {
    const s = agents[i].stats;
    const base = i * STATS_PER_AGENT;
    stats[base] = s.rxPackets;
    stats[base + 1] = s.droppedPackets;
    stats[base + 2] = s.invalidLengths;
    stats[base + 3] = s.handlerErrors;
    for (let k = 0; k < s.txPackets.length; k++) stats[base + 4 + k] = s.txPackets[k];
  }
}

export class AgentWorker {
  private readonly control: Int32Array;
  private readonly statsArray: Float64Array;
  private readonly exited: Promise<void>;
  /** Resolves once the worker has built its agents and handlers and starts polling. */
  readonly ready: Promise<void>;
  private failure: Error | null = null;

  private constructor(
    readonly worker: Worker,
    private readonly layouts: readonly AgentLayout[],
    control: SharedArrayBuffer,
    stats: SharedArrayBuffer,
  ) {
    this.control = new Int32Array(control);
    this.statsArray = new Float64Array(stats);
    this.ready = new Promise((resolve, reject) => {
      worker.on('message', (m: { ready?: boolean }) => {
        if (m.ready === true) resolve();
      });
      worker.on('error', reject);
      worker.on('exit', () => reject(new Error('agent worker exited before it was ready')));
    });
    this.ready.catch(() => undefined); // observed through `error` / stop() as well
    this.exited = new Promise((resolve) => {
      worker.on('error', (e) => (this.failure = e));
      worker.on('exit', () => resolve());
    });
  }

  /**
   * Run `agents` (set up in this thread, never polled here) in a new worker thread. The handler of agent i is
   * `require(handler.module)[handler.export](handler.args, i)`, built inside the worker.
   */
  static start(agents: readonly Agent[], handler: HandlerFactoryRef): AgentWorker {
    if (agents.length === 0) throw new TinyNfError('AgentWorker.start: no agents');
    const control = new SharedArrayBuffer(4);
    const stats = new SharedArrayBuffer(8 * STATS_PER_AGENT * agents.length);
    const layouts = agents.map((a) => a.layout);
    const data: AgentWorkerData = {
      layouts,
      handlerModule: path.resolve(handler.module),
      handlerExport: handler.export,
      handlerArgs: handler.args,
      control,
      stats,
    };
    const worker = new Worker(path.join(__dirname, 'agent-worker.js'), { workerData: data });
    return new AgentWorker(worker, layouts, control, stats);
  }

  /** The latest statistics the worker published (it publishes every 1024 rounds and when stopping). */
  stats(): AgentStats[] {
    return this.layouts.map((layout, i) => {
      const base = i * STATS_PER_AGENT;
      return {
        rxPackets: this.statsArray[base],
        droppedPackets: this.statsArray[base + 1],
        invalidLengths: this.statsArray[base + 2],
        handlerErrors: this.statsArray[base + 3],
        txPackets: Array.from(this.statsArray.subarray(base + 4, base + 4 + layout.rings.length)),
      };
    });
  }

  /** Whether the worker thread has failed (its error), e.g. a bad handler module. */
  get error(): Error | null {
    return this.failure;
  }

  /** Ask the worker to stop (after flushing its transmit tails) and wait for it to exit. */
  async stop(): Promise<AgentStats[]> {
    Atomics.store(this.control, CONTROL_STOP, 1);
    await this.exited;
    if (this.failure !== null) throw this.failure;
    return this.stats();
  }
}
