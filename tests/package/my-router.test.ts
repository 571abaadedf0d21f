// examples/my-router as a user gets it: the folder copied outside the repository, tinynf installed from an
// `npm pack` tarball, then exactly the README's two commands (and a type check of the project).
import * as fs from 'fs';
import * as path from 'path';
import { REPO, mustSh, npmInstall, packTinynf, sh } from './helpers';

let project = '';
let packDir = '';

beforeAll(() => {
  const pack = packTinynf();
  packDir = pack.dir;
  project = path.join(pack.dir, 'my-router');
  fs.cpSync(path.join(REPO, 'examples', 'my-router'), project, { recursive: true });
  npmInstall(project, [pack.tarball]); // also installs the project's own devDependencies (jest)
}, 300_000);

afterAll(() => {
  if (packDir !== '') fs.rmSync(packDir, { recursive: true, force: true });
});

describe('examples/my-router, copied out of the repository with tinynf from a tarball', () => {
  it('README command 1: npm test passes', () => {
    const r = sh('npm', ['test'], project, 120_000);
    expect(r.stderr + r.stdout).toMatch(/Tests:\s+3 passed, 3 total/);
    expect(r.status).toBe(0);
  }, 150_000);

  it('README command 2: npx tinynf run ./router.ts --sim --duration 2 --json routes packets with no violation', () => {
    const r = sh('npx', ['tinynf', 'run', './router.ts', '--sim', '--duration', '2', '--json'], project, 60_000);
    expect(r.status).toBe(0);
    const j = JSON.parse(r.stdout.trim().split('\n').pop()!) as { nf: string; violations: number; tx_packets: number; counters: Record<string, number> };
    expect(j.nf).toBe('router');
    expect(j.violations).toBe(0);
    expect(j.counters.routed).toBeGreaterThan(1000);
    expect(j.counters.routed).toBe(j.tx_packets);
  }, 90_000);

  it('the README names exactly those two commands', () => {
    const readme = fs.readFileSync(path.join(project, 'README.md'), 'utf8');
    expect(readme).toContain('```sh\nnpm test\nnpx tinynf run ./router.ts --sim --duration 2 --json\n```');
  });

  it('type-checks against the installed tinynf types', () => {
    mustSh(process.execPath, [path.join(project, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', '.'], project, 120_000);
  }, 150_000);
});
