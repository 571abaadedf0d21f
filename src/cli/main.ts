// Entry point of the `tinynf` command (bin/tinynf.js). Commands are added in src/cli/.
import { TinyNfError } from '../env/environment';

export function main(argv: string[]): void {
  try {
    if (argv.length === 0 || argv[0] === '--help') {
      process.stdout.write('usage: tinynf <command>\n');
      return;
    }
    throw new TinyNfError(`unknown command '${argv[0]}'`);
  } catch (e) {
    if (e instanceof TinyNfError) {
      process.stderr.write(`tinynf: ${e.message}\n`);
      process.exitCode = e.exitCode;
      return;
    }
    throw e;
  }
}
