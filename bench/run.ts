// `npm run bench [-- --quick --json ...]`: the same as `tinynf bench ...`.
import { main } from '../src/cli/main';

void main(['bench', ...process.argv.slice(2)]);
