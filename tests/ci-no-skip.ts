// Loaded before every test file (jest setupFiles). Tests that need root, a tool or a prepared image skip with one
// line starting "SKIPPED" where it is missing; CI (.ci/run, CI=true) installs all of it, so there a skip is a failure:
// the line is thrown instead of printed, failing the test file (or the test) that would have skipped.
if (process.env.CI === 'true') {
  const warn = console.warn.bind(console);
  console.warn = (...args: unknown[]): void => {
    if (typeof args[0] === 'string' && args[0].startsWith('SKIPPED')) {
      throw new Error(`CI must not skip tests (.ci/run installs what they need): ${args[0]}`);
    }
    warn(...args);
  };
}
