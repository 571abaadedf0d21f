// `tinynf bench [--quick] [--json]`: placeholder until the benchmarks exist (replaced by later work).
import { notYetAvailable } from './stub';

export const command = notYetAvailable('bench', 'bench [--quick] [--json]', 'benchmark the NFs on the three driver models');
