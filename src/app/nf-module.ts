// Loading a user's NF module for `tinynf run ./my-nf.ts|./my-nf.js`: the file's default export (or module.exports)
// is an NF definition made by defineNf, or the module object defineNf takes ({ name, config, create, ... }).
// The built-in NFs are the same kind of object (src/nf/index.ts): both go through the same code from here on.
//
// TypeScript files are compiled on load, file by file, with TypeScript's transpileModule (types are not checked:
// that is the job of the user's editor, tsc or tests), into CommonJS, through a require hook for '.ts'. Why not
// ts-node: see docs/dependencies.md.
import * as fs from 'fs';
import { createRequire } from 'module';
import * as path from 'path';
import { TinyNfError } from '../env/environment';
import { nfDefinition } from '../nf';
import { chainDefinition } from '../nf/chain';
import { NfDefinition, defineNf, isNfDefinition } from '../nf/config';

/** Does `spec` (the <nf> argument of tinynf run) name a file rather than a built-in NF? */
export function isNfPath(spec: string): boolean {
  return spec.includes('/') || spec.includes(path.sep) || /\.(ts|js|cjs)$/.test(spec);
}

/** The definition of a built-in NF by name, of the NF module in file `spec`, or of a chain of them ("./mon.ts+nat"). */
export function resolveNf(spec: string): NfDefinition {
  if (spec.includes('+')) return chainDefinition(spec.split('+').map((part) => resolveNf(part)));
  return isNfPath(spec) ? loadNfModule(spec) : nfDefinition(spec);
}

let typescriptHook = false;

interface TypeScriptApi {
  transpileModule(
    input: string,
    options: { fileName: string; reportDiagnostics: boolean; compilerOptions: Record<string, unknown> },
  ): { outputText: string; diagnostics?: { messageText: unknown; start?: number; file?: unknown }[] };
  ModuleKind: { CommonJS: number };
  ScriptTarget: { ES2022: number };
  flattenDiagnosticMessageText(m: unknown, nl: string): string;
}

/** Make require() compile .ts files (once per process). */
export function registerTypeScript(): void {
  if (typescriptHook) return;
  let ts: TypeScriptApi;
  try {
    ts = require('typescript') as TypeScriptApi;
  } catch {
    throw new TinyNfError('loading a .ts NF module needs the typescript package (a dependency of tinynf): reinstall tinynf');
  }
  // stack traces of handler faults then point at the user's .ts lines (the compiled code carries an inline map)
  process.setSourceMapsEnabled(true);
  const extensions = require.extensions as Record<string, (m: NodeJS.Module, filename: string) => void>;
  extensions['.ts'] = (module: NodeJS.Module, filename: string): void => {
    const source = fs.readFileSync(filename, 'utf8');
    const out = ts.transpileModule(source, {
      fileName: filename,
      reportDiagnostics: true,
      compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true, inlineSourceMap: true, inlineSources: true },
    });
    const d = out.diagnostics?.[0];
    if (d !== undefined) {
      const line = d.start === undefined ? '' : `:${source.slice(0, d.start).split('\n').length}`;
      throw new TinyNfError(`${path.relative(process.cwd(), filename) || filename}${line}: ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`);
    }
    (module as unknown as { _compile(code: string, filename: string): void })._compile(out.outputText, filename);
  };
  typescriptHook = true;
}

/** Where in `file` an error was raised (its first stack frame in that file), e.g. ' (my-nf.ts:12:7)'. */
function whereIn(error: unknown, file: string): string {
  const stack = error instanceof Error ? (error.stack ?? '') : '';
  const base = path.basename(file);
  const frame = stack.split('\n').find((l) => l.includes(file) || l.includes(base));
  const m = frame === undefined ? null : /([^/\\() ]+:\d+:\d+)\)?\s*$/.exec(frame);
  return m === null ? '' : ` (${m[1]})`;
}

/** Load the NF module in `file` (relative to the current directory). */
export function loadNfModule(file: string): NfDefinition {
  const abs = path.resolve(file);
  if (!fs.existsSync(abs)) throw new TinyNfError(`NF module ${file} not found`);
  if (/\.mjs$/.test(abs)) throw new TinyNfError(`NF module ${file}: ES module files (.mjs) cannot be loaded synchronously; use .ts, .js or .cjs`);
  if (/\.ts$/.test(abs)) registerTypeScript();
  let m: unknown;
  try {
    // Node's own require (createRequire), not the caller's: a host that replaces require (a test runner) would not
    // use the .ts hook
    m = createRequire(abs)(abs);
  } catch (e) {
    if (e instanceof TinyNfError) throw new TinyNfError(`cannot load NF module ${file}: ${e.message}`);
    const code = (e as { code?: string }).code;
    if (code === 'ERR_REQUIRE_ESM') {
      throw new TinyNfError(`cannot load NF module ${file}: it is an ES module (its package.json has "type": "module"); name it .cts or .ts, or use CommonJS`);
    }
    const msg = e instanceof Error ? `${e.name}: ${e.message.split('\n')[0]}` : String(e);
    throw new TinyNfError(`cannot load NF module ${file}: ${msg}${whereIn(e, abs)}`);
  }
  const exported = (m as { default?: unknown } | null)?.default ?? m;
  if (isNfDefinition(exported)) return exported;
  // neither a default export nor module.exports with the NF's fields (a module that only exports other names)
  const e = exported as { name?: unknown; create?: unknown } | null;
  if (e === null || typeof e !== 'object' || (e.name === undefined && e.create === undefined)) {
    const names = e !== null && typeof e === 'object' ? Object.keys(e) : [];
    throw new TinyNfError(
      `NF module ${file} exports no NF: it needs \`export default defineNf({ name, create, ... })\` (or module.exports = { name, create })${names.length > 0 ? `; it exports ${names.join(', ')}` : ''}`,
    );
  }
  return defineNf(exported as Parameters<typeof defineNf>[0]);
}
