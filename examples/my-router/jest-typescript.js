// Lets jest run the .ts tests: each file is compiled on its own with TypeScript's transpileModule (types are checked
// by your editor or `npx tsc --noEmit`, not here), the way `tinynf run` loads router.ts. TypeScript comes with tinynf.
const ts = require('typescript');

module.exports = {
  process(source, filename) {
    const out = ts.transpileModule(source, {
      fileName: filename,
      compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true, inlineSourceMap: true },
    });
    return { code: out.outputText };
  },
};
