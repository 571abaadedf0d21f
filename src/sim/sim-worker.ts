// A simulator thread of worker mode (started by worker.ts as dist/src/sim/sim-worker.js): one SimNic per port it
// serves (every port, or its share of them when the machine has several threads) over the register files and DMA
// window the main thread shares, polled in a loop in real time, as hardware on the other side of the bus would
// notice register writes and do DMA.
//
// The hot loop: per iteration one clock read and one poll per NIC (a rotating window of watched registers, the tails
// of enabled queues, the receive and transmit data paths); no allocation. Every MESSAGE_EVERY iterations (and before
// an idle sleep) it answers the main thread's requests; it publishes counters into the stats SharedArrayBuffer every
// PUBLISH_EVERY iterations and as soon as it goes idle after work.
import { engineArea } from './wasm/layout';
import { MessagePort, receiveMessageOnPort, workerData } from 'worker_threads';
import type { Violation } from './checker';
import { PhysicalMemory } from './memory';
import { SimNic, pollAll } from './nic';
import { CollectingOutput, QueueInput, WireInput, WireOutput } from './wire';
import { closeWire, createInput, createOutput } from './wires/describe';
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
  GLOBAL_BUSY_NS,
  GLOBAL_IDLE_ITERATIONS,
  GLOBAL_ITERATIONS,
  GLOBAL_PUBLISHED_NS,
  STATS_PER_PORT,
  globalStatsAt,
  SimInputDescription,
  SimOutputDescription,
  ToWorker,
  WorkerSetup,
} from './worker-protocol';

const MESSAGE_EVERY = 256;
const PUBLISH_EVERY = 64;
/** Statistics registers (GPRC, GOTCL, ...) are refreshed every this many iterations. */
const REGISTERS_EVERY = 1024;
const DEFAULT_COLLECT_LIMIT = 100_000;

/** A collecting output with a frame limit (later frames are dropped from the collection, not from the wire). */
class LimitedCollector extends CollectingOutput {
  constructor(private readonly limit: number) {
    super();
  }
  override frame(frame: Uint8Array, length: number, nowNs: number): void {
    if (this.frames.length < this.limit) super.frame(frame, length, nowNs);
  }
}

class SimThread {
  private readonly nics: SimNic[] = [];
  private readonly control: Int32Array;
  private readonly stats: Float64Array;
  private readonly inputs: (WireInput | null)[] = [];
  private readonly outputs: WireOutput[][] = [];
  private readonly collectors: LimitedCollector[][] = [];
  private readonly offsetMs: number;
  private readonly memory: PhysicalMemory;
  private iterations = 0;
  private idleIterations = 0;
  private busyNs = 0;

  constructor(
    private readonly setup: WorkerSetup,
    private readonly port: MessagePort,
  ) {
    this.control = new Int32Array(setup.control);
    this.stats = new Float64Array(setup.stats);
    // Both threads count time from the main thread's origin: now = performance.now() + (our origin - theirs).
    this.offsetMs = performance.timeOrigin - setup.timeOriginMs;
    const memory = new PhysicalMemory(setup.window, setup.windowPhys, setup.reserved, setup.allocationEnd);
    this.memory = memory;
    setup.ports.forEach((p, i) => {
      const at = p.index; // the machine's port number: its staging and engine areas
      const nic = new SimNic({
        address: p.address,
        lanId: p.lanId,
        mac: Uint8Array.from(p.mac),
        memory,
        bar0: p.bar0,
        config: p.config,
        bar0Phys: p.bar0Phys,
        staging: { buffer: setup.window, rxOffset: at * 2 * setup.stagingBytes, txOffset: at * 2 * setup.stagingBytes + setup.stagingBytes },
        engine: engineArea(setup.memory, setup.windowPhys, setup.allocationEnd, at),
        // The driver runs concurrently: a tail may legitimately land in the same poll interval as its ENABLE.
        sameIntervalStrict: false,
        clock: () => this.nowNs(),
      });
      this.nics.push(nic);
      this.inputs.push(null);
      this.outputs.push([]);
      this.collectors.push([]);
      if (p.input !== null) this.setInput(i, p.input);
      for (const o of p.outputs) this.addOutput(i, o);
      nic.setTxPacing(p.pacing);
    });
  }

  nowNs(): number {
    return (performance.now() + this.offsetMs) * 1e6;
  }

  run(): void {
    const control = this.control;
    const nics = this.nics;
    const n = nics.length;
    const scan = this.setup.scanWordsPerPoll;
    const idleSpins = this.setup.idleSpins;
    const sleepMs = this.setup.idleSleepUs / 1000;
    let idleRun = 0;
    let dirty = true;
    let last = this.nowNs();
    let lastBusy = false;
    this.publish(last);
    Atomics.store(control, CTRL_READY, 1);
    Atomics.notify(control, CTRL_READY);
    // The loop's two control words are read with plain loads: an Atomics.load is a call to a V8 builtin (~15 ns),
    // twice per iteration. A plain load of an Int32Array element still reads memory at every iteration (the loop
    // calls out, so V8 cannot keep it in a register) and sees the main thread's Atomics.store soon after it (cache
    // coherence); what the request carries is then read after an Atomics.load (serveStatisticRead), the acquire.
    while (control[CTRL_STOP] === 0) {
      const now = this.nowNs();
      if (lastBusy) this.busyNs += now - last;
      last = now;
      const busy = pollAll(nics, now, scan);
      lastBusy = busy;
      if (control[CTRL_STAT_REQUEST] !== this.statServed) this.serveStatisticRead();
      const it = ++this.iterations;
      if (busy) {
        idleRun = 0;
        dirty = true;
      } else {
        this.idleIterations++;
        idleRun++;
      }
      if ((it & (MESSAGE_EVERY - 1)) === 0) this.serveRequests();
      if ((it & (REGISTERS_EVERY - 1)) === 0) {
        for (let k = 0; k < n; k++) nics[k].updateStatisticsRegisters();
      }
      if ((it & (PUBLISH_EVERY - 1)) === 0 || (dirty && !busy)) {
        this.publish(now);
        dirty = busy;
      }
      if (idleRun > idleSpins && sleepMs > 0) {
        this.serveRequests();
        if (Atomics.load(control, CTRL_STAT_REQUEST) !== this.statServed) {
          this.serveStatisticRead();
          continue;
        }
        Atomics.wait(control, CTRL_SLEEP, 0, sleepMs);
      }
    }
    for (let k = 0; k < n; k++) nics[k].updateStatisticsRegisters();
    this.publish(this.nowNs());
    this.finish();
  }

  /** The last statistics read request served (worker-protocol.ts, CTRL_STAT_REQUEST). */
  private statServed = 0;

  /** Serve the main thread's pending statistics read (a read-to-clear register read by the driver). */
  private serveStatisticRead(): void {
    const control = this.control;
    const request = Atomics.load(control, CTRL_STAT_REQUEST);
    const nic = this.nics[control[CTRL_STAT_PORT]];
    let value = 0;
    // The main thread validated port and offset; a failure here is a bug, reported as the worker's error.
    if (nic !== undefined) value = nic.readStatistic32(control[CTRL_STAT_OFFSET]);
    control[CTRL_STAT_VALUE] = value | 0;
    this.statServed = request;
    Atomics.store(control, CTRL_STAT_DONE, request);
    Atomics.notify(control, CTRL_STAT_DONE);
  }

  /** Answer every pending request of the main thread. */
  private serveRequests(): void {
    for (;;) {
      const m = receiveMessageOnPort(this.port);
      if (m === undefined) return;
      const msg = m.message as ToWorker;
      let error: string | null = null;
      let frames: Uint8Array[] | undefined;
      try {
        frames = this.handle(msg);
      } catch (e) {
        error = e instanceof Error ? e.message : String(e);
      }
      // counters as of this reply (a request is also how the main thread gets exact ones: sync)
      this.publish(this.nowNs());
      this.post(frames === undefined ? { type: 'reply', error } : { type: 'reply', error, frames });
      Atomics.add(this.control, CTRL_ACK, 1);
      Atomics.notify(this.control, CTRL_ACK);
    }
  }

  /** Carry out a request; returns the frames of a `take`, undefined otherwise. */
  private handle(msg: ToWorker): Uint8Array[] | undefined {
    switch (msg.type) {
      case 'input':
        this.setInput(msg.port, msg.input);
        break;
      case 'push':
        this.pushFrames(msg.port, msg.frames);
        break;
      case 'take':
        return this.collectors[msg.port].flatMap((c) => c.take());
      case 'sync': {
        // a barrier: every register write made before the request is noticed now (a full scan of every NIC)
        const now = this.nowNs();
        pollAll(this.nics, now);
        break;
      }
      case 'output':
        this.addOutput(msg.port, msg.output);
        break;
      case 'pacing':
        this.nics[msg.port].setTxPacing(msg.pacing);
        break;
      case 'region':
        // Every NIC shares one PhysicalMemory: register the region once.
        this.memory.addRegion(msg.phys, msg.buffer, msg.byteOffset, msg.length);
        break;
    }
    return undefined;
  }

  private setInput(port: number, desc: SimInputDescription): void {
    let input: WireInput;
    if (desc.kind === 'queue') {
      const q = new QueueInput();
      for (const f of desc.frames) q.push(f);
      input = q;
    } else {
      input = createInput(desc);
    }
    const old = this.inputs[port];
    this.nics[port].attachInput(input);
    this.inputs[port] = input;
    if (old !== null) closeWire(old);
  }

  private pushFrames(port: number, frames: Uint8Array[]): void {
    const current = this.inputs[port];
    let queue: QueueInput;
    if (current instanceof QueueInput) {
      queue = current;
    } else {
      queue = new QueueInput();
      this.nics[port].attachInput(queue);
      this.inputs[port] = queue;
      if (current !== null) closeWire(current);
    }
    for (const f of frames) queue.push(f);
  }

  private addOutput(port: number, desc: SimOutputDescription): void {
    let output: WireOutput;
    if (desc.kind === 'collect') {
      const c = new LimitedCollector(desc.limit ?? DEFAULT_COLLECT_LIMIT);
      this.collectors[port].push(c);
      output = c;
    } else {
      output = createOutput(desc);
    }
    this.nics[port].attachOutput(output);
    this.outputs[port].push(output);
  }

  private publish(now: number): void {
    const s = this.stats;
    const nics = this.nics;
    const ports = this.setup.ports;
    for (let k = 0; k < nics.length; k++) {
      const nic = nics[k];
      const st = nic.stats;
      const b = ports[k].index * STATS_PER_PORT;
      // Order: STAT_NAMES
      s[b] = st.rxPackets;
      s[b + 1] = st.rxBytes;
      s[b + 2] = st.rxMissed;
      s[b + 3] = st.rxFiltered;
      s[b + 4] = st.rxNoDescriptor;
      s[b + 5] = st.txPackets;
      s[b + 6] = st.txBytes;
      s[b + 7] = st.txNullDescriptors;
      s[b + 8] = st.dmaErrors;
      s[b + 9] = nic.polls;
      s[b + 10] = nic.idlePolls;
      s[b + 11] = nic.violations.length + nic.checker.dropped;
      s[b + 12] = nic.warnings.length;
      s[b + 13] = st.rxUndersize;
      s[b + 14] = st.rxOversize;
      s[b + 15] = nic.rxBursts;
      s[b + 16] = nic.rxBurstsBehind;
    }
    const g = globalStatsAt(this.setup.machinePorts, this.setup.thread);
    s[g + GLOBAL_ITERATIONS] = this.iterations;
    s[g + GLOBAL_IDLE_ITERATIONS] = this.idleIterations;
    s[g + GLOBAL_PUBLISHED_NS] = now;
    s[g + GLOBAL_BUSY_NS] = this.busyNs;
  }

  private finish(): void {
    this.serveRequests();
    const violations: Violation[] = [];
    const warnings: Violation[] = [];
    for (const nic of this.nics) {
      violations.push(...nic.violations);
      warnings.push(...nic.warnings);
    }
    const errors: string[] = [];
    for (let p = 0; p < this.nics.length; p++) {
      for (const w of [this.inputs[p], ...this.outputs[p]]) {
        if (w === null) continue;
        try {
          closeWire(w);
        } catch (e) {
          errors.push(e instanceof Error ? e.message : String(e));
        }
      }
    }
    if (errors.length > 0) throw new Error(`closing wires: ${errors.join('; ')}`);
    const collected = this.collectors.map((cs) => cs.flatMap((c) => c.frames));
    this.post({ type: 'done', violations, warnings, collected });
    Atomics.store(this.control, CTRL_DONE, 1);
    Atomics.notify(this.control, CTRL_DONE);
  }

  private post(msg: FromWorker): void {
    this.port.postMessage(msg);
  }
}

function main(): void {
  const { setup, port } = workerData as { setup: WorkerSetup; port: MessagePort };
  const control = new Int32Array(setup.control);
  try {
    new SimThread(setup, port).run();
  } catch (e) {
    const message = e instanceof Error ? `${e.message}` : String(e);
    port.postMessage({ type: 'error', message } satisfies FromWorker);
    Atomics.store(control, CTRL_ERROR, 1);
    for (const w of [CTRL_READY, CTRL_ACK, CTRL_DONE, CTRL_ERROR]) Atomics.notify(control, w);
  }
  port.close();
}

main();
