// Users' NF modules through `tinynf run ./file`: a .ts file (compiled on load, no build step) and a CommonJS .js
// file, flags generated from the config schema, errors that name the field, the handler-fault policy end to end.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const REPO = path.resolve(__dirname, '..', '..', '..');
const BIN = path.join(REPO, 'bin', 'tinynf.js');
const INDEX = path.join(REPO, 'dist', 'src', 'index');
let dir = '';

function tinynf(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const lastJson = (stdout: string): Record<string, any> => JSON.parse(stdout.trim().split('\n').pop()!);

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tinynf-nf-module-'));
  // A TypeScript NF: drops one packet in every `every`, counts them; `via` checks an ipv4 field reaches create()
  fs.writeFileSync(
    path.join(dir, 'dropper.ts'),
    `import { defineNf, schema, PacketHandler, NetworkFunction } from ${JSON.stringify(INDEX)};
const config = schema.object({
  every: schema.integer({ min: 1, default: 2, describe: 'drop one packet in every N' }),
  via: schema.ipv4({ default: '10.0.0.9', describe: 'an address' }),
  routes: schema.list(schema.object({ prefix: schema.cidr(), via: schema.ipv4() }), { default: [] }),
});
export default defineNf({
  name: 'dropper',
  description: 'drops every Nth packet',
  config,
  create: (c): NetworkFunction => {
    let n = 0;
    let dropped = 0;
    const h: PacketHandler = (_p, _d, length, outputs) => {
      if (++n % c.every === 0) { dropped++; return 0; }
      outputs[0] = 1;
      return length;
    };
    return { name: 'dropper', outputPorts: [[1], [0]], handlers: [h, h], counters: () => ({ dropped, via: c.via, routes: c.routes.length }) };
  },
});
`,
  );
  // A CommonJS NF (a plain module object: defineNf is applied by the loader) whose handler throws on every 10th packet
  fs.writeFileSync(
    path.join(dir, 'thrower.js'),
    `let n = 0;
module.exports = {
  name: 'thrower',
  create: () => {
    const h = (_p, _d, length, outputs) => {
      if (++n % 10 === 0) throw new Error('bug in my handler');
      outputs[0] = 1;
      return length;
    };
    return { name: 'thrower', outputPorts: [[1], [0]], handlers: [h, h], counters: () => ({}) };
  },
};
`,
  );
  fs.writeFileSync(path.join(dir, 'broken.ts'), 'export default { name: "x", create: ( => 1 };\n');
  fs.writeFileSync(path.join(dir, 'nocreate.js'), 'module.exports = { name: "nocreate" };\n');
  // NFs that are built wrong: create() throws; one handler for two ports with outputs; a null handler; a handler
  // with no output ports
  fs.writeFileSync(path.join(dir, 'nodefault.ts'), 'export const helper = 1;\n');
  fs.writeFileSync(path.join(dir, 'badcreate.js'), 'module.exports = { name: "badcreate", create: () => { throw new RangeError("no room"); } };\n');
  const nfOf = (name: string, ports: string, handlers: string): string =>
    `const h = (_p, _d, length, outputs) => { outputs[0] = 1; return length; };\nmodule.exports = { name: ${JSON.stringify(name)}, create: () => ({ name: ${JSON.stringify(name)}, outputPorts: ${ports}, handlers: ${handlers}, counters: () => ({}) }) };\n`;
  fs.writeFileSync(path.join(dir, 'onehandler.js'), nfOf('onehandler', '[[1], [0]]', '[h]'));
  fs.writeFileSync(path.join(dir, 'nullhandler.js'), nfOf('nullhandler', '[[1], [0]]', '[h, null]'));
  fs.writeFileSync(path.join(dir, 'nooutputs.js'), nfOf('nooutputs', '[[1]]', '[h, h]'));
  fs.writeFileSync(path.join(dir, 'routes.json'), JSON.stringify({ routes: [{ prefix: '10.0.0.0/8', via: '10.0.0.1' }, { prefix: '192.168.0.0/16', via: '10.0.0.300' }] }));
});

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('tinynf run ./my-nf.ts', () => {
  it('runs a TypeScript NF module without a build step, with a flag generated from its schema', () => {
    const r = tinynf('run', './dropper.ts', '--sim', '--duration', '0.4', '--json', '--every', '4');
    expect(r.stderr).not.toMatch(/tinynf:/);
    expect(r.status).toBe(0);
    const j = lastJson(r.stdout);
    expect(j.nf).toBe('dropper');
    expect(j.violations).toBe(0);
    expect(j.rx_packets).toBeGreaterThan(1000);
    expect(j.counters.dropped).toBe(j.dropped_packets);
    // one in four, per handler call sequence (both ports share the counter)
    expect(Math.abs(j.counters.dropped - j.rx_packets / 4)).toBeLessThanOrEqual(1);
    expect(j.counters.via).toBe(0x0a000009);
    expect(j.handler_errors).toBe(0);
  });

  it('takes every model, and nested config from --config with errors naming the path', () => {
    for (const model of ['flexible', 'compat']) {
      const r = tinynf('run', './dropper.ts', '--sim', '--duration', '0.2', '--json', '--model', model);
      expect(r.status).toBe(0);
      expect(lastJson(r.stdout).model).toBe(model);
    }
    const bad = tinynf('run', './dropper.ts', '--sim', '--duration', '0.2', '--config', 'routes.json');
    expect(bad.status).toBe(1);
    expect(bad.stderr).toBe("tinynf: dropper config: routes[1].via: not an IPv4 address (got '10.0.0.300')\n");
    const zero = tinynf('run', './dropper.ts', '--sim', '--duration', '0.2', '--every', '0');
    expect(zero.stderr).toBe('tinynf: dropper config: every: must be an integer >= 1 (got 0)\n');
    const other = tinynf('run', './dropper.ts', '--sim', '--rate', '5');
    expect(other.status).toBe(2);
    expect(other.stderr).toMatch(/^tinynf: Unknown argument: rate/);
  });

  it('runs a CommonJS module; a throwing handler drops its packets, counts them and reports the first once', () => {
    const r = tinynf('run', './thrower.js', '--sim', '--duration', '0.3', '--json');
    expect(r.status).toBe(0);
    const j = lastJson(r.stdout);
    expect(j.handler_errors).toBeGreaterThan(10);
    expect(Math.abs(j.handler_errors - j.rx_packets / 10)).toBeLessThanOrEqual(1);
    expect(j.tx_packets).toBe(j.rx_packets - j.handler_errors);
    const reports = r.stderr.split('\n').filter((l) => l.startsWith('tinynf: NF thrower'));
    expect(reports).toHaveLength(1); // once for the NF, although both ports' handlers threw
    expect(r.stderr).toMatch(/\nError: bug in my handler\n\s+at h \(.*thrower\.js:\d+:\d+\)\n/);
  });

  it('--fail-fast stops at the first fault with one line', () => {
    const r = tinynf('run', './thrower.js', '--sim', '--duration', '5', '--fail-fast');
    expect(r.status).toBe(1);
    expect(r.stderr).toBe('tinynf: NF thrower: the handler of port 0 failed: Error: bug in my handler (--fail-fast: stopped)\n');
  });

  it('reports a module that does not load or is not an NF in one line', () => {
    const broken = tinynf('run', './broken.ts', '--sim');
    expect(broken.status).toBe(1);
    expect(broken.stderr).toMatch(/^tinynf: cannot load NF module \.\/broken\.ts: broken\.ts:1: .+\n$/);
    const nocreate = tinynf('run', './nocreate.js', '--sim');
    expect(nocreate.stderr).toBe("tinynf: NF nocreate: 'create' must be a function (config, ctx) => NetworkFunction\n");
    const missing = tinynf('run', './nothere.ts', '--sim');
    expect(missing.stderr).toBe('tinynf: NF module ./nothere.ts not found\n');
  });

  it('reports an NF whose create() throws, or whose handlers do not match its ports, in one line', () => {
    const run = (file: string) => {
      const r = tinynf('run', file, '--sim', '--duration', '0.2');
      return { status: r.status, stderr: r.stderr };
    };
    // it said "an NF module needs a 'name' ..., got undefined"
    expect(run('./nodefault.ts')).toEqual({ status: 1, stderr: 'tinynf: NF module ./nodefault.ts exports no NF: it needs `export default defineNf({ name, create, ... })` (or module.exports = { name, create }); it exports helper\n' });
    // the error, and where create() threw (it was a stack trace)
    expect(run('./badcreate.js')).toEqual({ status: 1, stderr: expect.stringMatching(/^tinynf: NF badcreate: create\(\) threw RangeError: no room \(at .*badcreate\.js:1:\d+\)?\)\n$/) });
    // these ran (exit 0) with port 1 never served: its frames all missed
    expect(run('./onehandler.js')).toEqual({ status: 1, stderr: 'tinynf: NF onehandler: port 1 has output ports [0] but no handler (handlers has 1)\n' });
    expect(run('./nullhandler.js')).toEqual({ status: 1, stderr: 'tinynf: NF nullhandler: handlers[1] is null, not a packet handler function\n' });
    expect(run('./nooutputs.js')).toEqual({ status: 1, stderr: 'tinynf: NF nooutputs: port 1 has a handler but no output ports (outputPorts[1] is empty), so it would never run\n' });
  });

  it('loadNfModule gives the same kind of definition as the built-ins', () => {
    // in a plain node process: jest replaces require(), and its transform would not read TypeScript types
    const script = `
      const { loadNfModule } = require(${JSON.stringify(path.join(REPO, 'dist', 'src', 'app', 'nf-module'))});
      const def = loadNfModule('dropper.ts');
      let error = '';
      try { def.parseConfig({ routes: [{ prefix: '10.0.0.1/8', via: '1.1.1.1' }] }); } catch (e) { error = e.constructor.name + ': ' + e.message; }
      console.log(JSON.stringify({ flags: Object.keys(def.flags).sort(), config: def.parseConfig({}), error }));`;
    const r = spawnSync(process.execPath, ['-e', script], { cwd: dir, encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual({
      flags: ['every', 'via'], // routes is a list: config file only
      config: { every: 2, via: 0x0a000009, routes: [] },
      error: "TinyNfError: dropper config: routes[0].prefix: host bits set (the network is 10.0.0.0/8) (got '10.0.0.1/8')",
    });
  });
});
