// Zero allocation per packet in steady state, every NF on the compat driver model (rig: tests/nf/alloc-rig.ts).
import { zeroAllocationSuite } from './alloc-rig';

zeroAllocationSuite('compat');
