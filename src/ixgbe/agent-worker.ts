// Worker thread entry: runs one or more agents whose queues were set up by the main thread (from their
// AgentLayouts: BAR0 and DMA SharedArrayBuffers), with handlers built in this thread by a factory module.
// Nothing is shared with other threads but the agents' own rings, buffers, head words and tail registers,
// plus a control word (stop) and a statistics array this thread writes.
import { parentPort, workerData } from 'worker_threads';
import { Agent } from './agent';
import type { PacketHandler } from './handler';
import { AgentWorkerData, CONTROL_STOP, STATS_PER_AGENT, publishStats } from './workers';

function main(data: AgentWorkerData): void {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const module = require(data.handlerModule) as Record<string, unknown>;
  const factory = module[data.handlerExport];
  if (typeof factory !== 'function') {
    throw new Error(`${data.handlerModule} has no function export '${data.handlerExport}'`);
  }
  const agents = data.layouts.map((layout) => new Agent(null, layout));
  const handlers = agents.map((_, i) => (factory as (args: unknown, index: number) => PacketHandler)(data.handlerArgs, i));
  const control = new Int32Array(data.control);
  const stats = new Float64Array(data.stats);
  parentPort?.postMessage({ ready: true });
  let rounds = 0;
  while (Atomics.load(control, CONTROL_STOP) === 0) {
    for (let i = 0; i < agents.length; i++) agents[i].poll(handlers[i]);
    if ((++rounds & 1023) === 0) publishStats(stats, agents);
  }
  for (const agent of agents) agent.flush();
  publishStats(stats, agents);
  parentPort?.postMessage({ done: true, statsPerAgent: STATS_PER_AGENT });
}

main(workerData as AgentWorkerData);
