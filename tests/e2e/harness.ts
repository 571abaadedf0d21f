// Shared harness of the end-to-end tests (issue 7): a tinynf NF, started as the real CLI in a child process
// (`bin/tinynf.js run <nf> --sim --tap LAN,WAN`), between two network namespaces made by labUp, driven by real
// programs (ping, curl, python3 -m http.server, iperf3, tcpdump, the kernel's VXLAN).
//
// Rules every e2e test follows through this file:
// - root, /dev/net/tun, iproute2 and the programs a test uses must be present, else the test is skipped with one
//   clear line saying what is missing (`e2eSkipReason`);
// - namespace and TAP names are private to the test (`e2e<tag><pid>`), so parallel jest workers, the wires tests
//   and a person's own `tinynf lab` (namespaces lan/wan) never clash;
// - everything started is recorded in a Scope and removed by `scope.cleanup()` (called from afterEach), even when
//   the test failed or timed out; a process 'exit' hook kills what is left if the jest worker itself goes away;
// - every command runs with a timeout (SIGKILL at the deadline), so no test waits forever;
// - only the lab's test addresses (10.0.0.0/24, 10.1.0.0/24, 192.168.42.0/24) inside the namespaces are used.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ChildProcess, spawn, spawnSync } from 'child_process';
import { Lab, LabOptions, labDown, labUp } from '../../src/env/lab';
import { netnsSkipReason } from '../wires/helpers/netns';

/** The tinynf command as installed (bin/tinynf.js requires the compiled dist/src/cli/main.js). */
export const TINYNF_BIN = path.join(__dirname, '..', '..', '..', 'bin', 'tinynf.js');
const NF_REGISTRY = path.join(__dirname, '..', '..', 'src', 'nf', 'index.js');

/** Probe for a program: true if it can be executed (`<cmd> <versionArg>` runs). */
export function hasProgram(cmd: string, versionArg = '--version'): boolean {
  const r = spawnSync(cmd, [versionArg], { stdio: 'ignore', timeout: 5000 });
  return r.error === undefined;
}

let baseReason: string | null | undefined;

/** Why e2e tests that need `programs` cannot run here, or null if they can. */
export function e2eSkipReason(programs: string[]): string | null {
  if (baseReason === undefined) {
    baseReason = netnsSkipReason();
    if (baseReason === null && !fs.existsSync(TINYNF_BIN)) baseReason = `${TINYNF_BIN} is missing`;
  }
  if (baseReason !== null) return baseReason;
  const missing = programs.filter((p) => !hasProgram(p, p === 'ping' ? '-V' : '--version'));
  if (missing.length > 0) return `${missing.join(', ')} not installed (.ci/run installs them from Debian)`;
  return null;
}

/** Whether the NF registry of the compiled tree has this NF (some are written while these tests are). */
export function nfRegistered(name: string): boolean {
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const reg = require(NF_REGISTRY) as { NETWORK_FUNCTIONS: Record<string, unknown> };
  return Object.prototype.hasOwnProperty.call(reg.NETWORK_FUNCTIONS, name);
}

/**
 * `describe` when the test can run, else `describe.skip` plus one warning line naming the reason.
 * `nf`: the NF the tests need (skipped if it is not registered).
 */
export function describeE2e(title: string, programs: string[], nf?: string): jest.Describe {
  let reason = e2eSkipReason(programs);
  if (reason === null && nf !== undefined && !nfRegistered(nf)) reason = `the ${nf} NF is not registered in src/nf/index.ts`;
  if (reason !== null) {
    console.warn(`SKIPPED e2e ${title}: ${reason} (end-to-end tests need root, /dev/net/tun, iproute2 and the tools named)`);
    return describe.skip;
  }
  return describe;
}

// ---------------------------------------------------------------------------------------------------------------
// Cleanup scope

/** Everything a test started, undone in reverse order by cleanup(). */
export class Scope {
  private readonly undo: { what: string; fn: () => void }[] = [];

  defer(what: string, fn: () => void): void {
    this.undo.push({ what, fn });
  }

  /** Undo everything (never throws; failures are printed). */
  cleanup(): void {
    while (this.undo.length > 0) {
      const { what, fn } = this.undo.pop()!;
      try {
        fn();
      } catch (e) {
        console.warn(`e2e cleanup of ${what} failed: ${(e as Error).message}`);
      }
    }
  }
}

const liveScopes = new Set<Scope>();
let exitHook = false;

/** A scope cleaned after each test of the file (and on process exit, if the worker dies first). */
export function useScope(): Scope {
  const scope = new Scope();
  liveScopes.add(scope);
  if (!exitHook) {
    exitHook = true;
    process.on('exit', () => {
      for (const s of liveScopes) s.cleanup();
    });
  }
  afterEach(() => scope.cleanup());
  afterAll(() => {
    scope.cleanup();
    liveScopes.delete(scope);
  });
  return scope;
}

// ---------------------------------------------------------------------------------------------------------------
// Lab with private names

/** Lab options with names of this test only: namespaces e2e<tag>l<pid>/e2e<tag>w<pid>, TAPs e<tag><pid>l/w. */
export function privateLab(tag: string, topology: 'routed' | 'flat' = 'routed'): LabOptions {
  if (!/^[a-z0-9]{1,4}$/.test(tag)) throw new Error(`lab tag '${tag}' must be 1-4 lower-case letters or digits`);
  const id = process.pid % 100000;
  return {
    topology,
    lan: { netns: `e2e${tag}l${id}`, tap: `e${tag}${id}l` },
    wan: { netns: `e2e${tag}w${id}`, tap: `e${tag}${id}w` },
  };
}

/** labUp with private names; labDown is deferred to the scope. */
export function labUpPrivate(scope: Scope, tag: string, topology: 'routed' | 'flat' = 'routed'): Lab {
  const options = privateLab(tag, topology);
  scope.defer(`lab ${tag}`, () => {
    const r = labDown(options);
    if (r.keptNamespaces.length > 0) {
      // Something (a VXLAN device, ...) a test added is still there: delete the namespaces anyway, they are ours.
      for (const ns of r.keptNamespaces) spawnSync('ip', ['netns', 'del', ns], { timeout: 10_000 });
      labDown(options); // removes the /etc/netns files
    }
  });
  return labUp(options);
}

/** The address of a lab side without its prefix length. */
export function addr(side: { address: string }): string {
  return side.address.split('/')[0];
}

// ---------------------------------------------------------------------------------------------------------------
// Processes

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Killed at its deadline. */
  timedOut: boolean;
}

/** A child process whose output is collected, killed by the scope's cleanup if still running. */
export class Proc {
  readonly child: ChildProcess;
  stdout = '';
  stderr = '';
  private result: Exit | null = null;
  private readonly done: Promise<Exit>;
  private timedOut = false;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    scope: Scope,
    readonly label: string,
    cmd: string,
    args: string[],
    options: { timeoutMs: number; cwd?: string },
  ) {
    this.child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], cwd: options.cwd });
    this.child.stdout!.on('data', (d: Buffer) => (this.stdout += d.toString()));
    this.child.stderr!.on('data', (d: Buffer) => (this.stderr += d.toString()));
    this.timer = setTimeout(() => {
      this.timedOut = true;
      this.kill('SIGKILL');
    }, options.timeoutMs);
    this.done = new Promise((resolve) => {
      const finish = (code: number | null, signal: NodeJS.Signals | null) => {
        if (this.timer !== null) clearTimeout(this.timer);
        this.timer = null;
        this.result = { code, signal, stdout: this.stdout, stderr: this.stderr, timedOut: this.timedOut };
        resolve(this.result);
      };
      this.child.on('close', finish);
      this.child.on('error', (e) => {
        this.stderr += `spawn ${cmd}: ${e.message}\n`;
        finish(null, null);
      });
    });
    scope.defer(`${label} (pid ${this.child.pid})`, () => {
      if (this.timer !== null) clearTimeout(this.timer);
      this.kill('SIGKILL');
    });
  }

  get running(): boolean {
    return this.result === null;
  }

  kill(signal: NodeJS.Signals = 'SIGTERM'): void {
    if (this.result === null && this.child.exitCode === null && this.child.signalCode === null) {
      try {
        this.child.kill(signal);
      } catch {
        // already gone
      }
    }
  }

  /** Resolves when the process has exited (bounded by its timeout). */
  exit(): Promise<Exit> {
    return this.done;
  }
}

/** Run a command inside a namespace (`ip netns exec NS ...`), bounded in time. */
export function nsRun(scope: Scope, netns: string, args: string[], timeoutMs = 10_000, cwd?: string): Promise<Exit> {
  return new Proc(scope, `${args[0]} in ${netns}`, 'ip', ['netns', 'exec', netns, ...args], { timeoutMs, cwd }).exit();
}

/** Start a command inside a namespace and leave it running (killed by the scope, or at its deadline). */
export function nsStart(scope: Scope, netns: string, args: string[], timeoutMs = 20_000, cwd?: string): Proc {
  return new Proc(scope, `${args[0]} in ${netns}`, 'ip', ['netns', 'exec', netns, ...args], { timeoutMs, cwd });
}

/** Run a command in this namespace synchronously (setup steps such as `ip link add`); throws if it fails. */
export function sh(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 10_000 });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr.trim()}`);
  return r.stdout;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Poll `probe` every `everyMs` until it returns true or `timeoutMs` passes; returns the last answer. */
export async function waitFor(probe: () => boolean | Promise<boolean>, timeoutMs: number, everyMs = 50): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await probe()) return true;
    if (Date.now() >= end) return false;
    await sleep(everyMs);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The NF under test

export interface NfOptions {
  /** Seconds the NF runs (`--duration`); the test's traffic must fit in it. */
  durationS: number;
  /** More CLI arguments (NF flags, --config, --pcap, --sim-thread ...). */
  args?: string[];
}

/** What `tinynf run --json` printed as its last line. */
export interface NfSummary {
  nf: string;
  rx_packets: number;
  tx_packets: number;
  dropped_packets: number;
  nic_missed_packets: number;
  violations: number;
  counters: Record<string, number>;
}

export class NfProcess {
  readonly proc: Proc;

  constructor(
    scope: Scope,
    readonly lab: Lab,
    readonly nf: string,
    readonly options: NfOptions,
  ) {
    const args = [TINYNF_BIN, 'run', nf, '--sim', '--tap', `${lab.lan.tap},${lab.wan.tap}`, '--duration', String(options.durationS), '--json'];
    args.push(...(options.args ?? []));
    // Bounded: the run's duration plus start-up and shutdown (loading, NIC initialisation, worker exit).
    this.proc = new Proc(scope, `tinynf run ${nf}`, process.execPath, args, { timeoutMs: options.durationS * 1000 + 15_000 });
  }

  /**
   * Resolves once the NF holds both TAPs: the kernel shows carrier (LOWER_UP) on a TAP only while a process has
   * it open, and the CLI opens the TAPs after the NICs are initialised, right before the poll loop starts.
   */
  async ready(timeoutMs = 10_000): Promise<void> {
    const up = await waitFor(() => {
      if (!this.proc.running) return true;
      return carrier(this.lab.lan.netns, this.lab.lan.tap) && carrier(this.lab.wan.netns, this.lab.wan.tap);
    }, timeoutMs);
    if (!this.proc.running) {
      const e = await this.proc.exit();
      throw new Error(`tinynf run ${this.nf} exited before it was ready (code ${e.code}): ${e.stderr.trim() || e.stdout.trim()}`);
    }
    if (!up) throw new Error(`tinynf run ${this.nf} did not open both TAPs within ${timeoutMs} ms; stderr: ${this.proc.stderr.trim()}`);
  }

  /**
   * Wait for the end of the run and parse its JSON summary (throws with its stderr if it failed). Call it once the
   * test's traffic is over: it also checks that the NF was still running then (else its --duration was too short
   * for the traffic, and what the test saw fail may be the NF's absence).
   */
  async summary(): Promise<NfSummary> {
    if (!this.proc.running) {
      throw new Error(`tinynf run ${this.nf} ended (--duration ${this.options.durationS}) before the test's traffic did: raise durationS`);
    }
    const e = await this.proc.exit();
    if (e.code !== 0) {
      throw new Error(`tinynf run ${this.nf} failed (code ${e.code}, signal ${e.signal}, timed out ${e.timedOut}): ${e.stderr.trim()}`);
    }
    const lines = e.stdout.trim().split('\n');
    return JSON.parse(lines[lines.length - 1]) as NfSummary;
  }
}

/** One line about a command's end, for failure messages. */
export function describeExit(what: string, e: Exit): string {
  return `${what}: code ${e.code}${e.signal !== null ? `, signal ${e.signal}` : ''}${e.timedOut ? ', killed at its deadline' : ''}\n` +
    `--- stdout\n${e.stdout.trim()}\n--- stderr\n${e.stderr.trim()}`;
}

/**
 * Fail with everything useful (the command's output, the NF's state and last progress lines) unless the command
 * exited 0 and its stdout contains `expected`.
 */
export function expectSuccess(what: string, e: Exit, expected: string | RegExp | null, nf?: NfProcess): void {
  const found = expected === null || (typeof expected === 'string' ? e.stdout.includes(expected) : expected.test(e.stdout));
  if (e.code === 0 && found) return;
  const nfState =
    nf === undefined
      ? ''
      : `\n--- tinynf run ${nf.nf} (${nf.proc.running ? 'running' : 'exited'}), last stderr lines:\n` +
        nf.proc.stderr.trim().split('\n').slice(-3).join('\n');
  throw new Error(`${describeExit(what, e)}${expected !== null && !found ? `\n(expected ${String(expected)} in stdout)` : ''}${nfState}`);
}

/** Whether a TAP has carrier, i.e. some process holds its file descriptor. */
export function carrier(netns: string, tap: string): boolean {
  const r = spawnSync('ip', ['-n', netns, '-o', 'link', 'show', 'dev', tap], { encoding: 'utf8', timeout: 5000 });
  return r.status === 0 && /[<,]LOWER_UP[,>]/.test(r.stdout);
}

/** Start `tinynf run <nf> --sim --tap <lab's TAPs>` and wait until it holds both TAPs. */
export async function startNf(scope: Scope, lab: Lab, nf: string, options: NfOptions): Promise<NfProcess> {
  const p = new NfProcess(scope, lab, nf, options);
  await p.ready();
  return p;
}

/** A temporary directory removed by the scope. */
export function tempDir(scope: Scope, prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `tinynf-e2e-${prefix}-`));
  scope.defer(`directory ${dir}`, () => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * Start `python3 -m http.server` in a namespace, bound to `address`, serving `dir` (whose index.html the test
 * wrote); resolves once it listens. Its request log (stderr) names each client address.
 */
export async function startHttpServer(scope: Scope, netns: string, address: string, port: number, dir: string, timeoutMs = 20_000): Promise<Proc> {
  // http.server looks its address up (socket.getfqdn) before it listens: an address the lab's hosts file does not
  // name would send a DNS query into the NF and wait for its timeout. Name it (labDown removes the file).
  const hosts = `/etc/netns/${netns}/hosts`;
  if (fs.existsSync(hosts) && !fs.readFileSync(hosts, 'utf8').split('\n').some((l) => l.split(/\s+/)[0] === address)) {
    fs.appendFileSync(hosts, `${address}\te2e-${address.replace(/\./g, '-')}\n`);
  }
  const server = nsStart(scope, netns, ['python3', '-u', '-m', 'http.server', String(port), '--bind', address, '--directory', dir], timeoutMs);
  const listening = await waitFor(() => !server.running || /Serving HTTP/.test(server.stderr + server.stdout), 5000);
  if (!listening || !server.running) throw new Error(`http.server in ${netns} did not start: ${server.stderr.trim()}`);
  return server;
}

/** Client addresses in a python http.server request log ("10.1.0.1 - - [date] "GET / HTTP/1.1" 200 -"). */
export function httpClients(log: string): string[] {
  return [...log.matchAll(/^(\d+\.\d+\.\d+\.\d+) - - \[[^\]]*\] "GET /gm)].map((m) => m[1]);
}
