// Helpers for tests that use tinynf as a user does: from an `npm pack` tarball installed in a project outside the
// repository.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

/** The repository root (tests run from dist/tests/...). */
export const REPO = path.resolve(__dirname, '..', '..', '..');

export function sh(cmd: string, args: string[], cwd: string, timeoutMs = 180_000): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', timeout: timeoutMs, env: { ...process.env, npm_config_update_notifier: 'false' } });
  return { status: r.status, stdout: r.stdout ?? '', stderr: (r.stderr ?? '') + (r.error !== undefined ? String(r.error) : '') };
}

export function mustSh(cmd: string, args: string[], cwd: string, timeoutMs?: number): string {
  const r = sh(cmd, args, cwd, timeoutMs);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} (in ${cwd}) exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/**
 * `npm pack` of the repository into a new temporary directory; returns the tarball's path. The build is the one
 * `npm test` just made (tsc), so the pack skips `prepare` (--ignore-scripts) instead of rebuilding dist/ under the
 * feet of other running tests.
 */
export function packTinynf(): { dir: string; tarball: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tinynf-pack-'));
  const out = mustSh('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], REPO);
  const info = JSON.parse(out) as { filename: string }[];
  return { dir, tarball: path.join(dir, info[0].filename) };
}

/** npm install of `specs` (tarball paths or package names) in `project` (which has a package.json). */
export function npmInstall(project: string, specs: string[]): void {
  mustSh('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', ...specs], project, 300_000);
}

/** The TypeScript compiler of this repository (a user project would have its own). */
export const TSC = path.join(REPO, 'node_modules', 'typescript', 'bin', 'tsc');
