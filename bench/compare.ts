// Before/after in one run, against any earlier commit: the commit is checked out into a temporary git worktree
// (sharing this checkout's node_modules and native addon build), built there with this checkout's tsc, and the same
// measurement runs alternately in a fresh process of each build, so drift on a shared machine hits both alike; the
// median of `--rounds` measurements is reported. The worktree is removed at the end.
//
//   node dist/bench/compare.js --ref REV [--what simulator|driver] [--nf nop] [--model restricted] [--duration 1] [--rounds 3] [--json]
//
//   --what simulator  the in-memory NIC's ns per forwarded frame (bench/simulator.ts; THIS checkout's harness is
//                     compiled into the old tree too, so only the simulator differs). Both builds run in ONE process
//                     per round, 25 ms windows alternated between them (--pair): this host has slow and fast spells
//                     that make whole processes 1.5-2x slower, which alternating processes could not pair away.
//                     before/after: median windows; speedup: the median of the paired window ratios (median of
//                     the rounds)
//   --what driver     the driver's ns per packet on the inline capacity rig (bench/capacity.ts; each tree's own)
//
// This replaces the frozen copies of old driver files bench/baseline/ used to keep: any commit can be the "before".
import { execFileSync, spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const ROOT = path.resolve(__dirname, '..', '..');

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

function git(args: string[], cwd = ROOT): string {
  return execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

/** Check out `ref` into a temporary worktree and build it; returns its directory. */
export function buildRef(ref: string, harness: string[]): string {
  const commit = git(['rev-parse', '--verify', `${ref}^{commit}`]);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tinynf-compare-'));
  git(['worktree', 'add', '--detach', dir, commit]);
  fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'));
  const addon = path.join(ROOT, 'src', 'env', 'native', 'build');
  if (fs.existsSync(addon) && !fs.existsSync(path.join(dir, 'src', 'env', 'native', 'build'))) {
    fs.symlinkSync(addon, path.join(dir, 'src', 'env', 'native', 'build'));
  }
  try {
    for (const file of harness) fs.copyFileSync(path.join(ROOT, file), path.join(dir, file));
    execFileSync(process.execPath, [path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], { cwd: dir, stdio: 'inherit' });
  } catch (e) {
    removeRef(dir);
    throw e;
  }
  return dir;
}

export function removeRef(dir: string): void {
  try {
    git(['worktree', 'remove', '--force', dir]);
  } catch {
    fs.rmSync(dir, { recursive: true, force: true });
    git(['worktree', 'prune']);
  }
}

/** Run `script` (relative to a build's dist/) in a fresh process; its last stdout line is JSON. */
function measure(buildDir: string, script: string, args: string[]): Promise<Record<string, number>> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(buildDir, 'dist', script), ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`${script} ${args.join(' ')} in ${buildDir} exited with ${code}`));
      resolve(JSON.parse(out.trim().split('\n').pop()!) as Record<string, number>);
    });
  });
}

export interface CompareRow {
  what: string;
  ref: string;
  before: number;
  after: number;
  /** before / after (simulator: the median of paired window ratios): > 1 is faster now. */
  speedup: number;
  unit: string;
}

async function main(): Promise<void> {
  const ref = arg('ref', 'HEAD~1');
  const what = arg('what', 'simulator');
  const rounds = Number(arg('rounds', '3'));
  const duration = arg('duration', '1');
  let script: string;
  let args: string[];
  let key: string;
  let unit: string;
  let harness: string[] = [];
  if (what === 'simulator') {
    script = 'bench/simulator.js';
    args = ['--child', duration];
    key = 'nsPerFrame';
    unit = 'ns per forwarded frame';
    harness = ['bench/simulator.ts'];
  } else if (what === 'driver') {
    script = 'bench/optimise.js';
    args = ['--child', arg('nf', 'nop'), arg('model', 'restricted'), 'current', duration];
    key = 'nsPerPacket';
    unit = 'ns per packet (driver, inline rig)';
  } else {
    throw new Error(`--what must be simulator or driver, not ${what}`);
  }
  process.stderr.write(`building ${ref} in a temporary worktree...\n`);
  const old = buildRef(ref, harness);
  try {
    const before: number[] = [];
    const after: number[] = [];
    const speedups: number[] = [];
    for (let r = 0; r < rounds; r++) {
      if (what === 'simulator') {
        // both builds in one process, windows alternated (bench/simulator.ts pairSimulator)
        const m = await measure(ROOT, script, ['--pair', old, duration]);
        before.push(m.before);
        after.push(m.after);
        speedups.push(m.speedup);
      } else {
        before.push((await measure(old, script, args))[key]);
        after.push((await measure(ROOT, script, args))[key]);
        speedups.push(before[r] / after[r]);
      }
      process.stderr.write(`round ${r + 1}: before ${before[r].toFixed(1)}, after ${after[r].toFixed(1)} ${unit} (${speedups[r].toFixed(3)}x)\n`);
    }
    const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    const b = median(before);
    const a = median(after);
    const speedup = what === 'simulator' ? median(speedups) : b / a;
    const row: CompareRow = { what, ref, before: Math.round(b * 10) / 10, after: Math.round(a * 10) / 10, speedup: Math.round(speedup * 1000) / 1000, unit };
    if (process.argv.includes('--json')) process.stdout.write(JSON.stringify(row) + '\n');
    else process.stdout.write(`${what} vs ${ref}: before ${row.before}, after ${row.after} ${unit}: ${row.speedup}x\n`);
  } finally {
    removeRef(old);
  }
}

if (require.main === module) {
  main().catch((e: Error) => {
    process.stderr.write(`compare: ${e.message}\n`);
    process.exitCode = 1;
  });
}
