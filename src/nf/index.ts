// The registry of network functions: name -> definition (defaults, validation, CLI flags, factory).
// `tinynf run <nf>`, examples and benchmarks look NFs up here.
import * as fs from 'fs';
import { TinyNfError } from '../env/environment';
import type { NetworkFunction, NfContext } from './network-function';
import { POLICER_DEFAULTS, PolicerConfig, createPolicer } from './policer';
import { createMacRewrite, createNop } from './simple';

export interface NfFlag {
  configKey: string;
  type: 'number' | 'string' | 'boolean';
  describe: string;
}

export interface NfDefinition<C = any> {
  readonly name: string;
  readonly description: string;
  readonly defaults: C;
  /** Validate a (partial) configuration object; missing keys take the defaults. */
  parseConfig(raw: unknown): C;
  create(config: C, ctx: NfContext): NetworkFunction;
  /** CLI flags (e.g. --rate) and the configuration keys they set. */
  readonly flags: Record<string, NfFlag>;
  /** Flow-table capacity, if the NF has one (benchmarks fill 90% of it). */
  capacity?(config: C): number;
}

/** Check `raw` is an object with only known keys whose values are positive finite numbers; merge with defaults. */
function numericConfig<C extends object>(name: string, defaults: C, raw: unknown, integers: readonly string[]): C {
  if (raw === undefined || raw === null) return { ...defaults };
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new TinyNfError(`${name} config must be a JSON object`);
  const out: Record<string, number> = { ...(defaults as Record<string, number>) };
  for (const [key, value] of Object.entries(raw as Record<string, unknown>)) {
    if (!(key in out)) {
      throw new TinyNfError(`${name} config: unknown field '${key}' (known: ${Object.keys(out).join(', ')})`);
    }
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
      throw new TinyNfError(`${name} config: '${key}' must be a positive number, got ${JSON.stringify(value)}`);
    }
    if (integers.includes(key) && !Number.isInteger(value)) {
      throw new TinyNfError(`${name} config: '${key}' must be a whole number, got ${value}`);
    }
    out[key] = value;
  }
  return out as unknown as C;
}

function noConfig(name: string, raw: unknown): Record<string, never> {
  if (raw !== undefined && raw !== null && (typeof raw !== 'object' || Object.keys(raw as object).length > 0)) {
    throw new TinyNfError(`${name} takes no configuration`);
  }
  return {};
}

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
    parseConfig: (raw) => numericConfig<PolicerConfig>('policer', POLICER_DEFAULTS, raw, ['capacity']),
    create: createPolicer,
    flags: {
      rate: { configKey: 'rate', type: 'number', describe: 'bytes per second per destination' },
      burst: { configKey: 'burst', type: 'number', describe: 'bucket size in bytes per destination' },
      capacity: { configKey: 'capacity', type: 'number', describe: 'destinations tracked at most' },
      'expiry-ns': { configKey: 'expiryNs', type: 'number', describe: 'forget destinations idle this long (ns)' },
    },
    capacity: (c: PolicerConfig) => c.capacity,
  },
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
