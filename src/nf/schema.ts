// A typed configuration schema for network functions: each NF declares its configuration once, as a tree of fields
// with types and defaults; from it come the parsed, typed configuration (`Infer<typeof schema>`), the validation of a
// JSON config file or CLI flags with errors that name the path (`routes[3].via: not an IPv4 address ('10.1')`), the
// `tinynf run` flags (one per top-level scalar field) and the documentation of each field.
//
// Defaults are given in the raw (JSON) form a user writes, e.g. `schema.ipv4({ default: '192.0.2.1' })`, and go
// through the same parser as user values, so a default can be shown, documented and written to a config file.
//
// Parsed forms: ipv4 -> a 32-bit unsigned number (network order value, as DataView.getUint32 reads it);
// ipv6 -> Uint8Array(16); mac -> Uint8Array(6); cidr -> { address, prefixLength } (IPv4, host bits must be 0);
// port -> integer 0..65535; list -> array; object -> object with exactly the declared keys.
import { TinyNfError } from '../env/environment';

/** Thrown by parsers; `path` is the field's path (e.g. `routes[3].via`), '' for the whole configuration. */
export class ConfigError extends TinyNfError {
  constructor(
    readonly path: string,
    readonly problem: string,
  ) {
    super(path === '' ? problem : `${path}: ${problem}`);
    this.name = 'ConfigError';
  }
}

export type FieldKind =
  | 'number'
  | 'integer'
  | 'boolean'
  | 'string'
  | 'enum'
  | 'ipv4'
  | 'ipv6'
  | 'cidr'
  | 'mac'
  | 'port'
  | 'list'
  | 'object'
  | 'optional'
  | 'custom';

export interface Field<T> {
  readonly kind: FieldKind;
  /** Human-readable type, for help and docs: 'integer 1..65535', 'IPv4 address', 'list of IPv4 CIDR prefix'... */
  readonly typeName: string;
  readonly describe: string;
  /** The default in raw (JSON) form; undefined = the field is required (unless kind is 'optional'). */
  readonly default: unknown;
  /** How a CLI flag passes this field's value (null: only through a config file). */
  readonly flagType: 'number' | 'string' | 'boolean' | null;
  /** Validate a raw (JSON) value; throws a ConfigError naming `path`. */
  parse(raw: unknown, path: string): T;
}

export interface ObjectField<T> extends Field<T> {
  readonly kind: 'object';
  readonly fields: Readonly<Record<string, Field<unknown>>>;
}

/** The parsed type of a field or schema. */
export type Infer<F> = F extends Field<infer T> ? T : never;

interface Common<D> {
  /** One line for --help and docs. */
  describe?: string;
  /** Default in raw form; omit to make the field required. */
  default?: D;
}

function show(raw: unknown): string {
  if (typeof raw === 'string') return `'${raw}'`;
  if (raw instanceof Uint8Array) return `bytes(${raw.length})`;
  if (typeof raw === 'number') return String(raw);
  try {
    const s = JSON.stringify(raw);
    return s === undefined ? String(raw) : s.length > 60 ? s.slice(0, 57) + '...' : s;
  } catch {
    return String(raw);
  }
}

function scalar<T>(
  kind: FieldKind,
  typeName: string,
  flagType: Field<T>['flagType'],
  opts: Common<unknown>,
  parse: (raw: unknown) => T | string,
): Field<T> {
  return {
    kind,
    typeName,
    describe: opts.describe ?? '',
    default: opts.default,
    flagType,
    parse(raw: unknown, path: string): T {
      const r = parse(raw);
      if (typeof r === 'string' && kind !== 'string' && kind !== 'enum') throw new ConfigError(path, `${r} (got ${show(raw)})`);
      return r as T;
    },
  };
}

function range(min: number | undefined, max: number | undefined): string {
  if (min !== undefined && max !== undefined) return ` ${min}..${max}`;
  if (min !== undefined) return ` >= ${min}`;
  if (max !== undefined) return ` <= ${max}`;
  return '';
}

export interface NumberOptions extends Common<number> {
  min?: number;
  max?: number;
  /** Require > 0 (a rate, a size). */
  positive?: boolean;
}

function number(opts: NumberOptions = {}): Field<number> {
  const name = (opts.positive === true ? 'positive number' : 'number') + range(opts.min, opts.max);
  return scalar('number', name, 'number', opts, (raw) => {
    if (typeof raw !== 'number' || !Number.isFinite(raw)) return 'not a number';
    if (opts.positive === true && !(raw > 0)) return 'must be a positive number';
    if ((opts.min !== undefined && raw < opts.min) || (opts.max !== undefined && raw > opts.max)) return `must be a number${range(opts.min, opts.max)}`;
    return raw;
  });
}

function integer(opts: NumberOptions = {}): Field<number> {
  const name = (opts.positive === true ? 'positive integer' : 'integer') + range(opts.min, opts.max);
  return scalar('integer', name, 'number', opts, (raw) => {
    if (typeof raw !== 'number' || !Number.isFinite(raw)) return 'not a number';
    if (!Number.isSafeInteger(raw)) return 'must be a whole number';
    if (opts.positive === true && !(raw > 0)) return 'must be a positive number';
    if ((opts.min !== undefined && raw < opts.min) || (opts.max !== undefined && raw > opts.max)) return `must be an integer${range(opts.min, opts.max)}`;
    return raw;
  });
}

function boolean(opts: Common<boolean> = {}): Field<boolean> {
  return scalar('boolean', 'boolean', 'boolean', opts, (raw) => (typeof raw === 'boolean' ? raw : 'not a boolean (true or false)'));
}

function string(opts: Common<string> & { nonEmpty?: boolean } = {}): Field<string> {
  return {
    kind: 'string',
    typeName: 'string',
    describe: opts.describe ?? '',
    default: opts.default,
    flagType: 'string',
    parse(raw, path) {
      if (typeof raw !== 'string') throw new ConfigError(path, `not a string (got ${show(raw)})`);
      if (opts.nonEmpty === true && raw.length === 0) throw new ConfigError(path, 'must not be empty');
      return raw;
    },
  };
}

function enumOf<const V extends readonly string[]>(values: V, opts: Common<V[number]> = {}): Field<V[number]> {
  return {
    kind: 'enum',
    typeName: `one of ${values.join(' | ')}`,
    describe: opts.describe ?? '',
    default: opts.default,
    flagType: 'string',
    parse(raw, path) {
      if (typeof raw !== 'string' || !values.includes(raw)) throw new ConfigError(path, `must be one of ${values.join(', ')} (got ${show(raw)})`);
      return raw as V[number];
    },
  };
}

/** Dotted-quad IPv4 text -> 32-bit value, or -1. */
export function parseIpv4Text(text: string): number {
  const parts = text.split('.');
  if (parts.length !== 4) return -1;
  let v = 0;
  for (const p of parts) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p)) return -1;
    const n = Number(p);
    if (n > 255) return -1;
    v = v * 256 + n;
  }
  return v;
}

function ipv4(opts: Common<string> = {}): Field<number> {
  return scalar('ipv4', 'IPv4 address', 'string', opts, (raw) => {
    const v = typeof raw === 'string' ? parseIpv4Text(raw) : -1;
    return v < 0 ? 'not an IPv4 address' : v;
  });
}

/** RFC 4291 Section 2.2 text forms (with ::, and a trailing dotted quad) -> 16 bytes, or null. */
export function parseIpv6Text(text: string): Uint8Array | null {
  let t = text;
  const lastColon = t.lastIndexOf(':');
  if (lastColon >= 0 && t.indexOf('.', lastColon) > 0) {
    // a trailing dotted quad (e.g. ::ffff:192.0.2.1) stands for the last two 16-bit groups
    const v4 = parseIpv4Text(t.slice(lastColon + 1));
    if (v4 < 0) return null;
    t = `${t.slice(0, lastColon + 1)}${(v4 >>> 16).toString(16)}:${(v4 & 0xffff).toString(16)}`;
  }
  const halves = t.split('::');
  if (halves.length > 2) return null;
  const groups = (s: string): number[] | null => {
    if (s === '') return [];
    const out: number[] = [];
    for (const g of s.split(':')) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  const a = groups(halves[0]);
  const b = halves.length === 2 ? groups(halves[1]) : [];
  if (a === null || b === null) return null;
  const words = a.length + b.length;
  if (halves.length === 1 ? words !== 8 : words > 7) return null;
  const all = [...a, ...new Array<number>(8 - words).fill(0), ...b];
  const bytes = new Uint8Array(16);
  all.forEach((w, i) => {
    bytes[2 * i] = w >>> 8;
    bytes[2 * i + 1] = w & 0xff;
  });
  return bytes;
}

function ipv6(opts: Common<string> = {}): Field<Uint8Array> {
  return scalar('ipv6', 'IPv6 address', 'string', opts, (raw) => {
    const v = typeof raw === 'string' ? parseIpv6Text(raw) : null;
    return v === null ? 'not an IPv6 address' : v;
  });
}

export interface Ipv4Prefix {
  /** The network address (host bits zero). */
  readonly address: number;
  /** 0..32 */
  readonly prefixLength: number;
}

function cidr(opts: Common<string> = {}): Field<Ipv4Prefix> {
  return scalar('cidr', 'IPv4 CIDR prefix', 'string', opts, (raw) => {
    if (typeof raw !== 'string') return 'not an IPv4 CIDR prefix (a.b.c.d/len)';
    const slash = raw.indexOf('/');
    if (slash < 0) return 'not an IPv4 CIDR prefix (a.b.c.d/len)';
    const address = parseIpv4Text(raw.slice(0, slash));
    const lenText = raw.slice(slash + 1);
    if (address < 0 || !/^(0|[1-9][0-9]?)$/.test(lenText) || Number(lenText) > 32) return 'not an IPv4 CIDR prefix (a.b.c.d/len)';
    const prefixLength = Number(lenText);
    const hostMask = prefixLength === 32 ? 0 : 2 ** (32 - prefixLength) - 1;
    const network = address - (address % (hostMask + 1));
    if (network !== address) return `host bits set (the network is ${ipv4Text(network)}/${prefixLength})`;
    return { address, prefixLength };
  });
}

export function ipv4Text(v: number): string {
  return `${(v >>> 24) & 255}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
}

/** aa:bb:cc:dd:ee:ff (or with '-') -> 6 bytes, or null. */
export function parseMacText(text: string): Uint8Array | null {
  if (!/^[0-9a-fA-F]{2}([:-][0-9a-fA-F]{2}){5}$/.test(text)) return null;
  return Uint8Array.from(text.split(/[:-]/).map((h) => parseInt(h, 16)));
}

function mac(opts: Common<string> = {}): Field<Uint8Array> {
  return scalar('mac', 'MAC address', 'string', opts, (raw) => {
    const v = typeof raw === 'string' ? parseMacText(raw) : null;
    return v === null ? 'not a MAC address (aa:bb:cc:dd:ee:ff)' : v;
  });
}

function port(opts: Common<number> & { min?: number } = {}): Field<number> {
  const min = opts.min ?? 0;
  return scalar('port', `port ${min}..65535`, 'number', opts, (raw) =>
    typeof raw === 'number' && Number.isInteger(raw) && raw >= min && raw <= 65535 ? raw : `not a port number (${min}..65535)`,
  );
}

export interface ListField<T> extends Field<T[]> {
  readonly kind: 'list';
  readonly item: Field<T>;
}

function list<T>(item: Field<T>, opts: Common<unknown[]> & { minLength?: number; maxLength?: number } = {}): ListField<T> {
  return {
    kind: 'list',
    item,
    typeName: `list of ${item.typeName}`,
    describe: opts.describe ?? '',
    default: opts.default,
    flagType: null,
    parse(raw, path) {
      if (!Array.isArray(raw)) throw new ConfigError(path, `not a list (got ${show(raw)})`);
      if (opts.minLength !== undefined && raw.length < opts.minLength) throw new ConfigError(path, `needs at least ${opts.minLength} entries, got ${raw.length}`);
      if (opts.maxLength !== undefined && raw.length > opts.maxLength) throw new ConfigError(path, `takes at most ${opts.maxLength} entries, got ${raw.length}`);
      return raw.map((r, i) => item.parse(r, `${path}[${i}]`));
    },
  };
}

type ObjectOf<F extends Record<string, Field<unknown>>> = { -readonly [K in keyof F]: Infer<F[K]> };

function object<F extends Record<string, Field<any>>>(fields: F, opts: { describe?: string; default?: Record<string, unknown> } = {}): ObjectField<ObjectOf<F>> {
  return {
    kind: 'object',
    typeName: 'object',
    describe: opts.describe ?? '',
    // an object whose every field has a default has a default itself: {}
    default: opts.default ?? (Object.values(fields).every((f) => f.default !== undefined || f.kind === 'optional') ? {} : undefined),
    flagType: null,
    fields,
    parse(raw, path) {
      if (typeof raw !== 'object' || raw === null || Array.isArray(raw) || raw instanceof Uint8Array) {
        throw new ConfigError(path, `not an object (got ${show(raw)})`);
      }
      const rawObject = raw as Record<string, unknown>;
      const known = Object.keys(fields);
      for (const key of Object.keys(rawObject)) {
        if (!known.includes(key)) {
          throw new ConfigError(path, `unknown field '${key}' (known: ${known.length === 0 ? 'none' : known.join(', ')})`);
        }
      }
      const out: Record<string, unknown> = {};
      for (const key of known) {
        const f = fields[key];
        const at = path === '' ? key : `${path}.${key}`;
        const value = rawObject[key];
        if (value === undefined) {
          if (f.kind === 'optional') out[key] = undefined;
          else if (f.default !== undefined) out[key] = f.parse(f.default, at);
          else throw new ConfigError(at, `missing (a ${f.typeName})`);
        } else {
          out[key] = f.parse(value, at);
        }
      }
      return out as ObjectOf<F>;
    },
  };
}

/**
 * A field with an NF-specific parser (a structure the builders above do not describe, e.g. a FIB key in hex). The
 * parser gets the raw value and its path, and throws a ConfigError (or TinyNfError) naming the path.
 */
function custom<T>(typeName: string, parse: (raw: unknown, path: string) => T, opts: Common<unknown> = {}): Field<T> {
  return { kind: 'custom', typeName, describe: opts.describe ?? '', default: opts.default, flagType: null, parse };
}

/** A field that may be absent (parsed as undefined). */
function optional<T>(field: Field<T>): Field<T | undefined> {
  return {
    kind: 'optional',
    typeName: `optional ${field.typeName}`,
    describe: field.describe,
    default: undefined,
    flagType: field.flagType,
    parse: (raw, path) => (raw === undefined || raw === null ? undefined : field.parse(raw, path)),
  };
}

/** The schema builders: `schema.object({ rate: schema.number({ positive: true, default: 1e6 }) })`. */
export const schema = { number, integer, boolean, string, enum: enumOf, ipv4, ipv6, cidr, mac, port, list, object, optional, custom };

/** camelCase -> kebab-case (config key -> CLI flag). */
export function flagName(key: string): string {
  return key.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());
}

/** A one-paragraph description of every field of a schema, for docs and --help (`path  type  default  describe`). */
export function describeSchema(s: Field<unknown>, path = ''): string[] {
  if (s.kind !== 'object') return [];
  const out: string[] = [];
  for (const [key, f] of Object.entries((s as ObjectField<unknown>).fields)) {
    const at = path === '' ? key : `${path}.${key}`;
    const def = f.default === undefined ? (f.kind === 'optional' ? ' (optional)' : ' (required)') : ` (default ${show(f.default)})`;
    out.push(`${at}: ${f.typeName}${def}${f.describe !== '' ? ' — ' + f.describe : ''}`);
    out.push(...describeSchema(f, at));
    if (f.kind === 'list') out.push(...describeSchema((f as ListField<unknown>).item, `${at}[]`));
  }
  return out;
}
