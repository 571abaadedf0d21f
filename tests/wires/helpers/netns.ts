// Helpers for tests that need root, iproute2 and /dev/net/tun (TAP devices in network namespaces).
import * as fs from 'fs';
import { spawnSync } from 'child_process';

/** Why namespace/TAP tests cannot run here, or null if they can. */
export function netnsSkipReason(): string | null {
  if (typeof process.geteuid === 'function' && process.geteuid() !== 0) return 'not root';
  if (!fs.existsSync('/dev/net/tun')) return '/dev/net/tun is missing (tun module)';
  if (spawnSync('ip', ['-V'], { stdio: 'ignore' }).error) return 'iproute2 (ip) is not installed';
  const probe = `tnfprobe${process.pid}`;
  const add = spawnSync('ip', ['netns', 'add', probe], { encoding: 'utf8', timeout: 5000 });
  if (add.status !== 0) return `cannot create network namespaces: ${add.stderr.trim()}`;
  spawnSync('ip', ['netns', 'del', probe], { timeout: 5000 });
  return null;
}

/** Run a command (bounded in time); throw with its stderr if it fails. */
export function run(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 10_000 });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr.trim()}`);
  return r.stdout;
}

/** Run a command inside a namespace. */
export function inNs(ns: string, args: string[]): string {
  return run('ip', ['netns', 'exec', ns, ...args]);
}

/** A sysfs file of an interface inside a namespace. */
export function nsSysfs(ns: string, iface: string, file: string): string {
  return inNs(ns, ['cat', `/sys/class/net/${iface}/${file}`]).trim();
}

/** Sleep without spinning (tests only). */
export function sleepMs(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Poll `fn` until it returns non-null or `timeoutMs` passes. */
export function pollUntil<T>(fn: () => T | null, timeoutMs: number): T | null {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v !== null) return v;
    if (Date.now() > end) return null;
    sleepMs(5);
  }
}
