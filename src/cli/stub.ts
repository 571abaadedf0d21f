// A command that later work will provide: accepts any arguments and says it is not there yet (exit 1).
import type { CommandModule } from 'yargs';
import { TinyNfError } from '../env/environment';

export function notYetAvailable(name: string, usage: string, describe: string): CommandModule {
  return {
    command: `${name} [args..]`,
    describe: `${describe} (not yet available)`,
    builder: (y) => y.usage(`$0 ${usage}`).strict(false),
    handler: () => {
      throw new TinyNfError(`'tinynf ${name}' is not yet available in this version`);
    },
  };
}
