// `tinynf sim --dir DIR`: placeholder until the standalone in-memory NIC exists (replaced by later work).
import { notYetAvailable } from './stub';

export const command = notYetAvailable('sim', 'sim --dir DIR', 'run the in-memory 82599 as a standalone device');
