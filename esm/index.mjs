// ESM entry of the tinynf package (`import { Testbed } from 'tinynf'`): the CommonJS build re-exported. Node finds
// the named exports of dist/src/index.js statically (tsc's CommonJS output), so nothing is listed by hand here.
export * from '../dist/src/index.js';
import tinynf from '../dist/src/index.js';
export default tinynf;
