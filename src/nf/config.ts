// What a network function definition provides to the registry (src/nf/index.ts), and helpers to validate
// configuration objects (from a JSON file or CLI flags) with one clear error per mistake.
import { TinyNfError } from '../env/environment';
import type { NetworkFunction, NfContext } from './network-function';

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
export function numericConfig<C extends object>(name: string, defaults: C, raw: unknown, integers: readonly string[]): C {
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

export function noConfig(name: string, raw: unknown): Record<string, never> {
  if (raw !== undefined && raw !== null && (typeof raw !== 'object' || Object.keys(raw as object).length > 0)) {
    throw new TinyNfError(`${name} takes no configuration`);
  }
  return {};
}
