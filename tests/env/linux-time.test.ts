// sleepUs really sleeps (lower bounds only: no upper bounds, which would depend on the machine's load).
import { LinuxEnvironment } from '../../src/env/linux';

function elapsedNs(f: () => void): number {
  const t = process.hrtime.bigint();
  f();
  return Number(process.hrtime.bigint() - t);
}

describe('LinuxEnvironment time', () => {
  const env = new LinuxEnvironment();

  it('sleeps at least the asked time, above (Atomics.wait) and below (busy-wait) 1 ms', () => {
    expect(elapsedNs(() => env.sleepUs(3000))).toBeGreaterThanOrEqual(3_000_000);
    expect(elapsedNs(() => env.sleepUs(150))).toBeGreaterThanOrEqual(150_000);
    expect(elapsedNs(() => env.sleepUs(0))).toBeGreaterThanOrEqual(0);
  });

  it('nowNs is monotonic and agrees with the sleep', () => {
    const a = env.nowNs();
    env.sleepUs(1000);
    const b = env.nowNs();
    expect(b - a).toBeGreaterThanOrEqual(1_000_000 - 1000); // performance.now() is µs-precise
  });
});
