// Entry point of the `tinynf` command (bin/tinynf.js -> dist/src/cli/main.js). One file per command in this
// directory, each exporting a yargs CommandModule named `command`; they are registered here and nowhere else.
//
// Errors: a TinyNfError (something the user can fix) prints `tinynf: <message>` on stderr, one line, and sets
// the exit code (1); a usage error (unknown command or option, missing argument) prints one line too and exits
// 2. Anything else is a bug and keeps its stack trace.
import yargs from 'yargs';
import { TinyNfError } from '../env/environment';
import { command as benchCommand } from './bench';
import { command as bindCommand } from './bind';
import { command as decodeCommand } from './decode';
import { command as devicesCommand } from './devices';
import { command as labCommand } from './lab';
import { command as doctorCommand } from './doctor';
import { command as runCommand, setCommandLine } from './run';
import { command as setupCommand } from './setup';
import { ignoreClosedReader } from './stdout';
import { command as simCommand } from './sim';
import { command as unbindCommand } from './unbind';
import { command as vmCommand } from './vm';

/** Exit code of usage errors (as getopt-style tools do); user errors exit 1. */
export const USAGE_EXIT_CODE = 2;

export function buildParser(argv: string[]) {
  setCommandLine(argv);
  return yargs(argv)
    .scriptName('tinynf')
    .usage('$0 <command> [options]\n\nNetwork functions on a TinyNF-style 82599 driver, or on its in-memory twin.')
    .command(runCommand)
    .command(benchCommand)
    .command(simCommand)
    .command(decodeCommand)
    .command(setupCommand)
    .command(devicesCommand)
    .command(labCommand)
    .command(doctorCommand)
    .command(bindCommand)
    .command(unbindCommand)
    .command(vmCommand)
    .middleware((args) => refuseNotANumber(args, argv), true)
    .demandCommand(1, 'a command is needed')
    .strict()
    .help()
    .version(false)
    .wrap(Math.min(110, process.stdout.columns ?? 110))
    .exitProcess(false)
    .fail((message, error) => {
      if (error !== undefined && error !== null) throw error;
      throw new TinyNfError(`${withoutAliases(message)} (see tinynf --help)`, USAGE_EXIT_CODE);
    });
}

/**
 * yargs lists an unknown option under both its spellings ("Unknown arguments: bogus-flag, bogusFlag"): keep the one
 * typed (kebab-case), and say "argument" for one.
 */
function withoutAliases(message: string): string {
  const m = /^Unknown arguments: (.*)$/.exec(message);
  if (m === null) return message;
  const names = m[1].split(', ');
  const kebab = (n: string): string => n.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
  const kept = names.filter((n) => !(/[A-Z]/.test(n) && names.includes(kebab(n))));
  return `Unknown argument${kept.length === 1 ? '' : 's'}: ${kept.join(', ')}`;
}

/**
 * A numeric option given something that is not a number: yargs makes it NaN, and the commands' range checks would
 * say "got NaN"; this names what was typed (`--duration must be a number, got 'abc'`).
 */
function refuseNotANumber(args: Record<string, unknown>, argv: string[]): void {
  for (const [key, value] of Object.entries(args)) {
    // yargs keeps both spellings (frame-size and frameSize): the one typed is the kebab-case one
    if (key === '_' || key === '$0' || /[A-Z]/.test(key)) continue;
    const values = Array.isArray(value) ? value : [value];
    if (!values.some((v) => typeof v === 'number' && Number.isNaN(v))) continue;
    const flag = `--${key}`;
    const at = argv.findIndex((a) => a === flag || a.startsWith(`${flag}=`));
    const typed = at < 0 ? undefined : argv[at] === flag ? argv[at + 1] : argv[at].slice(flag.length + 1);
    throw new TinyNfError(`${flag} must be a number${typed !== undefined ? `, got '${typed}'` : ''}`);
  }
}

/** Run the command line `argv` (without node and the script). Resolves when the command is done. */
export async function main(argv: string[]): Promise<void> {
  // A reader that goes away (`tinynf doctor | head -3`) is no error of ours: stop writing to it, and let the command
  // end as it would (a run still stops its NICs and prints its summary to nobody), instead of an EPIPE stack trace.
  process.stdout.on('error', ignoreClosedReader);
  try {
    await buildParser(argv).parseAsync();
  } catch (e) {
    if (e instanceof TinyNfError) {
      // one line, always (yargs' "Invalid values:" message spans several)
      process.stderr.write(`tinynf: ${e.message.replace(/\s*\n\s*/g, ' ')}\n`);
      process.exitCode = e.exitCode;
      return;
    }
    throw e;
  }
}
