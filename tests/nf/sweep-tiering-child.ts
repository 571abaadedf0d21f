// `node --allow-natives-syntax sweep-tiering-child.js`: whether V8 optimises FlowTable.expire as a whole function when
// the caller of tick() is not optimised (a white-box check of the JIT state a zero-allocation run once met, run by
// flow-table.test.ts). With a CoarseClock the time moves once per poll round, so the sweep runs once per round; a
// function called that rarely was compiled only on-stack (OSR) after deoptimisations, never again as a whole, and
// each call's start then ran in the baseline compiler, where every double is a heap object (64 B per round, in
// about 1 of 15 processes on a loaded machine). tick() calls expire() at every packet so that it is a hot function.
// Prints JSON on the last line: the optimisation status after warm-up and after a forced deoptimisation.
import { FlowTable } from '../../src/nf/lib/flow-table';

/** V8's %GetOptimizationStatus bit for "optimised code" (src/runtime/runtime.h, OptimizationStatus::kOptimized). */
const OPTIMIZED = 1 << 4;
type Native = (f: unknown) => number;
// natives syntax is parsed by the Function constructor under --allow-natives-syntax (TypeScript cannot write it)
const status = new Function('f', 'return %GetOptimizationStatus(f)') as Native;
const neverOptimize = new Function('f', 'return %NeverOptimizeFunction(f)') as Native;
const deoptimize = new Function('f', 'return %DeoptimizeFunction(f)') as Native;

export interface TieringResult {
  optimizedAfterWarmUp: boolean;
  optimizedAfterDeopt: boolean;
}

export function sweepTiering(): TieringResult {
  const time = new Float64Array(1);
  const table = new FlowTable(65_536, 1_000_000, undefined, undefined, time);
  const proto = Object.getPrototypeOf(table) as { expire: unknown; tick: unknown };
  let now = 1.7e18; // a clock's value: a double, never a small integer
  let flow = 0;
  // a poll round: the clock moves once (32 us), then 400 packets tick, one in 8 a new flow
  const round = (): void => {
    now += 32_000;
    time[0] = now;
    for (let i = 0; i < 400; i++) {
      table.tick();
      if (i % 8 === 0) table.findOrInsert(flow++, 1, 2, 3);
    }
  };
  neverOptimize(round); // expire is then called, not inlined into an optimised caller
  neverOptimize(proto.tick);
  for (let r = 0; r < 3000; r++) round();
  const optimizedAfterWarmUp = (status(proto.expire) & OPTIMIZED) !== 0;
  deoptimize(proto.expire);
  for (let r = 0; r < 3000; r++) round();
  return { optimizedAfterWarmUp, optimizedAfterDeopt: (status(proto.expire) & OPTIMIZED) !== 0 };
}

if (require.main === module) process.stdout.write(JSON.stringify(sweepTiering()) + '\n');
