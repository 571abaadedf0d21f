// `tinynf run <nf> --sim | --pci A B`: placeholder until the driver and NFs exist (replaced by later work).
import { notYetAvailable } from './stub';

export const command = notYetAvailable('run', 'run <nf> (--sim | --pci A B ...) [--duration S] [--json]', 'run a network function');
