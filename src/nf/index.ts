// The registry of network functions: name -> definition (defaults, validation, CLI flags, factory).
// `tinynf run <nf>`, examples and benchmarks look NFs up here.
import * as fs from 'fs';
import { TinyNfError } from '../env/environment';
import type { NfDefinition } from './config';
import { POLICER_DEFINITION } from './policer';
import { MACREWRITE_DEFINITION, NOP_DEFINITION } from './simple';
import { TUNNEL_DEFINITION } from './tunnel';
import { NAT_DEFINITION } from './nat';
import { FIREWALL_DEFINITION } from './firewall';
import { MACLOOKUP_DEFINITION } from './maclookup';
import { BRIDGE_DEFINITION } from './bridge';
import { LB_DEFINITION } from './lb';

export type { NfDefinition, NfFlag, NfModule } from './config';
export { defineNf } from './config';

/** The built-in NFs, each defined with defineNf (src/nf/config.ts) as a user's NF module is. */
export const NETWORK_FUNCTIONS: Record<string, NfDefinition> = {
  nop: NOP_DEFINITION,
  macrewrite: MACREWRITE_DEFINITION,
  policer: POLICER_DEFINITION,
  tunnel: TUNNEL_DEFINITION,
  nat: NAT_DEFINITION,
  firewall: FIREWALL_DEFINITION,
  maclookup: MACLOOKUP_DEFINITION,
  bridge: BRIDGE_DEFINITION,
  lb: LB_DEFINITION,
};

export function nfDefinition(name: string): NfDefinition {
  const def = NETWORK_FUNCTIONS[name];
  if (def === undefined) {
    throw new TinyNfError(`unknown network function '${name}' (available: ${Object.keys(NETWORK_FUNCTIONS).join(', ')})`);
  }
  return def;
}

/** Read a JSON configuration file (an object of config fields). */
export function loadConfigFile(path: string): unknown {
  let text: string;
  try {
    text = fs.readFileSync(path, 'utf8');
  } catch (e) {
    throw new TinyNfError(`cannot read config file ${path}: ${(e as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new TinyNfError(`config file ${path} is not valid JSON: ${(e as Error).message}`);
  }
}
