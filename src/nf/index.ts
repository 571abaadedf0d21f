// The registry of network functions: name -> definition (defaults, validation, CLI flags, factory).
// `tinynf run <nf>`, examples and benchmarks look NFs up here.
import * as fs from 'fs';
import { TinyNfError } from '../env/environment';
import { NfDefinition, noConfig, numericConfig } from './config';
import { POLICER_DEFAULTS, PolicerConfig, createPolicer } from './policer';
import { createMacRewrite, createNop } from './simple';
import { TUNNEL_DEFINITION } from './tunnel';
import { NAT_DEFINITION } from './nat';
import { FIREWALL_DEFINITION } from './firewall';
import { MACLOOKUP_DEFINITION } from './maclookup';
import { BRIDGE_DEFINITION } from './bridge';
import { LB_DEFINITION } from './lb';

export type { NfDefinition, NfFlag } from './config';

export const NETWORK_FUNCTIONS: Record<string, NfDefinition> = {
  nop: {
    name: 'nop',
    description: 'forward every packet unchanged to the other port',
    defaults: {},
    parseConfig: (raw) => noConfig('nop', raw),
    create: createNop,
    flags: {},
  },
  macrewrite: {
    name: 'macrewrite',
    description: "TinyNF's benchmark NF: dst MAC 00:00:00:00:00:01, src MAC 0, forward to the other port",
    defaults: {},
    parseConfig: (raw) => noConfig('macrewrite', raw),
    create: createMacRewrite,
    flags: {},
  },
  policer: {
    name: 'policer',
    description: 'per-destination-IPv4 token bucket on WAN (port 1) -> LAN (port 0); LAN -> WAN passes',
    defaults: POLICER_DEFAULTS,
    parseConfig: (raw) => numericConfig<PolicerConfig>('policer', POLICER_DEFAULTS, raw, ['capacity', 'maxFlowsPerSource']),
    create: createPolicer,
    flags: {
      rate: { configKey: 'rate', type: 'number', describe: 'bytes per second per destination' },
      burst: { configKey: 'burst', type: 'number', describe: 'bucket size in bytes per destination' },
      capacity: { configKey: 'capacity', type: 'number', describe: 'destinations tracked at most' },
      'expiry-ns': { configKey: 'expiryNs', type: 'number', describe: 'forget destinations idle this long (ns)' },
      'max-flows-per-source': { configKey: 'maxFlowsPerSource', type: 'number', describe: 'destinations one WAN address may add (default 0: no limit)' },
    },
    capacity: (c: PolicerConfig) => c.capacity,
  },
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
