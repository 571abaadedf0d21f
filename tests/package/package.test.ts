// tinynf as a package: `npm pack`, install the tarball in a fresh project outside the repository, then use it as a
// user would: require() (CommonJS), import (ESM), a TypeScript compile against its types, and the tinynf command.
// One pack and one install serve every check (they take a few seconds).
import * as fs from 'fs';
import * as path from 'path';
import { TSC, mustSh, npmInstall, packTinynf, sh } from './helpers';

let project = '';
let packDir = '';

beforeAll(() => {
  const pack = packTinynf();
  packDir = pack.dir;
  project = path.join(pack.dir, 'user-project');
  fs.mkdirSync(project);
  fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'user-project', version: '1.0.0', private: true }));
  npmInstall(project, [pack.tarball, '@types/node@20.19.9']);
}, 300_000);

afterAll(() => {
  if (packDir !== '') fs.rmSync(packDir, { recursive: true, force: true });
});

// A user's NF, forwarded through the testbed: proves the API works, not just that names exist.
const USE = `
  const nf = {
    name: 'swap',
    outputPorts: [[1], [0]],
    handlers: [(p, d, len, out) => { out[0] = 1; return len; }, (p, d, len, out) => { out[0] = 1; return len; }],
    counters: () => ({}),
  };
  const tb = t.Testbed.create({ model: 'restricted' });
  tb.attach(nf);
  const frame = new Uint8Array(60); frame[12] = 0x08;
  tb.send(0, frame);
  tb.run();
  console.log(JSON.stringify({ out: tb.received(1).length, checksum: t.internetChecksum(new Uint8Array([0x45, 0, 0, 20]), 0, 4) }));
`;

describe('the npm pack tarball installed in a project outside the repository', () => {
  it('ships the built API, the CLI, the ESM entry and the native addon sources, and no tests', () => {
    const root = path.join(project, 'node_modules', 'tinynf');
    for (const f of ['dist/src/index.js', 'dist/src/index.d.ts', 'esm/index.mjs', 'bin/tinynf.js', 'src/env/native/binding.gyp', 'src/env/native/shm.cc']) {
      expect(fs.existsSync(path.join(root, f))).toBe(true);
    }
    expect(fs.existsSync(path.join(root, 'dist', 'tests'))).toBe(false);
    // the install script built the addon in the user's project, and it loads
    const addon = require(path.join(root, 'src', 'env', 'native', 'build', 'Release', 'tinynf_shm.node')) as Record<string, unknown>;
    expect(typeof addon.map).toBe('function');
    // koffi (the FFI) resolves from the user's project and loads its prebuilt binary
    const koffi = mustSh(process.execPath, ['-e', "console.log(typeof require('koffi').load)"], project);
    expect(koffi.trim()).toBe('function');
  });

  it("require('tinynf') gives the public API, and an NF forwards through its Testbed", () => {
    const out = mustSh(process.execPath, ['-e', `const t = require('tinynf'); ${USE}`], project);
    expect(JSON.parse(out)).toEqual({ out: 1, checksum: expect.any(Number) });
    const keys = JSON.parse(mustSh(process.execPath, ['-e', "console.log(JSON.stringify(Object.keys(require('tinynf'))))"], project)) as string[];
    for (const k of ['Testbed', 'runNf', 'defineNf', 'schema', 'FlowTable', 'CoarseClock', 'TinyNfError', 'Device', 'LinuxEnvironment']) expect(keys).toContain(k);
    // internals are not exported (a path not in the exports map cannot be required)
    const r = sh(process.execPath, ['-e', "require('tinynf/dist/src/ixgbe/registers')"], project);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/ERR_PACKAGE_PATH_NOT_EXPORTED/);
  });

  it("import from 'tinynf' works in an ES module, with named and default imports", () => {
    fs.writeFileSync(path.join(project, 'use.mjs'), `import * as t from 'tinynf';\nimport def from 'tinynf';\nif (def.Testbed !== t.Testbed) throw new Error('default export differs');\n${USE}`);
    const out = mustSh(process.execPath, ['use.mjs'], project);
    expect(JSON.parse(out).out).toBe(1);
  });

  it('a TypeScript NF compiles against the package types (CommonJS and Node16 ESM resolution), and a type error is caught', () => {
    const good = `
      import { NetworkFunction, PacketHandler, Testbed, FlowTable, defineNf, schema } from 'tinynf';
      const forward: PacketHandler = (_packet, _data, length, outputs) => { outputs[0] = 1; return length; };
      const nf: NetworkFunction = { name: 'fwd', outputPorts: [[1], [0]], handlers: [forward, forward], counters: () => ({}) };
      const def = defineNf({
        name: 'fwd',
        description: 'forward',
        config: schema.object({ rate: schema.number({ default: 1, describe: 'r' }), via: schema.ipv4({ default: '10.0.0.1' }) }),
        create: (config) => { const r: number = config.rate; const v: number = config.via; void r; void v; return nf; },
      });
      const tb: Testbed = Testbed.create({ model: 'flexible' });
      tb.attach(def.create(def.parseConfig({}), { clock: { nowNs: () => 0 }, ports: 2 }));
      const table = new FlowTable(16, 1e9);
      export const size: number = table.size;
    `;
    fs.writeFileSync(path.join(project, 'good.ts'), good); // CommonJS (the project has no "type": "module")
    fs.writeFileSync(path.join(project, 'good.mts'), good); // ESM: resolved through the exports map's import entry
    fs.writeFileSync(path.join(project, 'bad.ts'), `import { Testbed } from 'tinynf';\nexport const n: string = Testbed.create().ports;\n`);
    // One compiler run for the three files (tsc takes long to start on a loaded machine): only bad.ts may fail.
    const r = sh(process.execPath, [TSC, '--noEmit', '--strict', '--target', 'ES2022', '--types', 'node', '--module', 'node16', '--moduleResolution', 'node16', 'good.ts', 'good.mts', 'bad.ts'], project);
    expect(r.status).not.toBe(0);
    const errors = r.stdout.split('\n').filter((l) => /error TS/.test(l));
    expect(errors).toEqual([expect.stringMatching(/^bad\.ts\(2,14\): error TS2322: Type 'number' is not assignable to type 'string'/)]);
  });

  it('npx tinynf runs a built-in NF on simulated ports from the installed package', () => {
    const r = sh('npx', ['--no-install', 'tinynf', 'run', 'nop', '--sim', '--duration', '0.3', '--json'], project, 60_000);
    expect(r.status).toBe(0);
    const json = JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, number>;
    expect(json.violations).toBe(0);
    expect(json.tx_packets).toBeGreaterThan(0);
  });
});
