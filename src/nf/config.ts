// The NF-module contract (docs/nfs.md, "Writing your own NF"): an NF is defined once with defineNf({ name,
// description, config: schema.object({...}), create(config, ctx) }); from the schema come the typed configuration,
// its validation (JSON config file and CLI flags) and `tinynf run`'s flags. The built-in NFs (src/nf/index.ts) and a
// user's module loaded by `tinynf run ./my-nf.ts` are the same kind of object.
import { TinyNfError } from '../env/environment';
import type { NetworkFunction, NfContext } from './network-function';
import { ConfigError, Field, Infer, ObjectField, flagName, schema } from './schema';

export interface NfFlag {
  configKey: string;
  type: 'number' | 'string' | 'boolean';
  describe: string;
}

/**
 * Generated traffic `tinynf run <nf> --sim` offers port `port` unless the user gives generator flags: chosen per NF
 * so that a plain `run <nf> --sim` shows the NF doing its job (e.g. a policer's flows exceed their rate).
 */
export type SimTrafficFor<C = any> = (port: number, config: C) => SimTrafficHint;

/** The generator settings an NF may choose (the meaning of each is that of `tinynf run`'s generator flags). */
export interface SimTrafficHint {
  flows?: number;
  /** Mpps per port, or 'line-rate'. */
  rate?: number | 'line-rate';
  frameSize?: number;
  protocol?: 'udp' | 'tcp';
  srcIp?: string;
  dstIp?: string;
  srcPort?: number;
  dstPort?: number;
  srcMac?: string;
  dstMac?: string;
  /** Which fields flow k adds k to. */
  vary?: readonly ('srcIp' | 'dstIp' | 'srcPort' | 'dstPort' | 'srcMac')[];
  /**
   * The port's wire is a simulated peer instead of a generator: what the port transmits comes back as replies
   * (addresses and ports swapped, ICMP echo answered: src/sim/wires/replies.ts), so a stateful NF's WAN gets the
   * replies of the flows it let out, whatever ports or state it chose. The generator fields above then do not
   * apply to this port; --tap and --pcap-in still replace it.
   */
  replies?: boolean;
}

/** What an NF author writes (the module's default export, or `module.exports`). */
export interface NfModule<S extends ObjectField<any>> {
  readonly name: string;
  readonly description?: string;
  /** The configuration schema (src/nf/schema.ts); omit for an NF without configuration. */
  readonly config?: S;
  /**
   * Checks that involve several fields, after the schema's own: throw a TinyNfError. May return a normalised
   * configuration (e.g. with derived fields filled in), which replaces the parsed one.
   */
  check?(config: Infer<S>): void | Infer<S>;
  create(config: Infer<S>, ctx: NfContext): NetworkFunction;
  /** Flow-table capacity, if the NF has one (benchmarks fill 90% of it). */
  capacity?(config: Infer<S>): number;
  /** Default simulated traffic per port. */
  readonly traffic?: SimTrafficFor<Infer<S>>;
}

/** A defined NF: what the registry holds and `tinynf run` runs. */
export interface NfDefinition<C = any> {
  readonly name: string;
  readonly description: string;
  readonly config: ObjectField<C>;
  /** Validate a (partial) configuration object; missing keys take the defaults. Errors name the field's path. */
  parseConfig(raw: unknown): C;
  create(config: C, ctx: NfContext): NetworkFunction;
  /** CLI flags (e.g. --expiry-ns), one per top-level scalar field of the schema, and the keys they set. */
  readonly flags: Record<string, NfFlag>;
  capacity?(config: C): number;
  readonly traffic?: SimTrafficFor<C>;
}

const NO_CONFIG = schema.object({});

/** Define an NF from its module (see NfModule). Throws a TinyNfError if the module is not one. */
export function defineNf<S extends ObjectField<any> = ObjectField<Record<string, never>>>(m: NfModule<S>): NfDefinition<Infer<S>> {
  if (typeof m !== 'object' || m === null) throw new TinyNfError('an NF module must export an object { name, config, create }');
  if (typeof m.name !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(m.name)) {
    throw new TinyNfError(`an NF module needs a 'name' (letters, digits, _ . -), got ${JSON.stringify(m.name)}`);
  }
  if (typeof m.create !== 'function') throw new TinyNfError(`NF ${m.name}: 'create' must be a function (config, ctx) => NetworkFunction`);
  const config = (m.config ?? NO_CONFIG) as ObjectField<Infer<S>>;
  if (typeof config !== 'object' || config === null || config.kind !== 'object' || typeof config.parse !== 'function') {
    throw new TinyNfError(`NF ${m.name}: 'config' must be a schema.object({...}) (from tinynf's schema)`);
  }
  const flags: Record<string, NfFlag> = {};
  for (const [key, f] of Object.entries(config.fields) as [string, Field<unknown>][]) {
    if (f.flagType !== null) flags[flagName(key)] = { configKey: key, type: f.flagType, describe: f.describe };
  }
  const name = m.name;
  const check = m.check;
  return {
    name,
    description: m.description ?? '',
    config,
    flags,
    create: m.create,
    capacity: m.capacity,
    traffic: m.traffic,
    parseConfig(raw: unknown): Infer<S> {
      try {
        const parsed = config.parse(raw === undefined || raw === null ? {} : raw, '');
        const checked = check !== undefined ? check(parsed) : undefined;
        return checked === undefined ? parsed : checked;
      } catch (e) {
        if (e instanceof ConfigError) throw new TinyNfError(`${name} config: ${e.message}`);
        if (e instanceof TinyNfError && !e.message.startsWith(`${name} config`)) throw new TinyNfError(`${name} config: ${e.message}`);
        throw e;
      }
    },
  };
}

/** Is `x` an NfDefinition made by defineNf (rather than a module to define)? */
export function isNfDefinition(x: unknown): x is NfDefinition {
  const d = x as NfDefinition;
  return typeof d === 'object' && d !== null && typeof d.parseConfig === 'function' && typeof d.flags === 'object' && typeof d.create === 'function';
}
