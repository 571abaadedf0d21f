#!/usr/bin/env node
// The tinynf command. The TypeScript sources are compiled into dist/ when the package is installed.
require('../dist/src/cli/main.js')
  .main(process.argv.slice(2))
  .catch((e) => {
    console.error(e);
    process.exitCode = 1;
  });
