// IPv4 (DIR-24-8) and IPv6 (stride-8 trie) longest-prefix match against a naive reference (the longest of the
// current rules containing the address), over random sequences of adds, replacements and removes.
import fc from 'fast-check';
import { parseIpv6 } from '../../../src/nf/lib/address';
import { LPM_MISS, Lpm4 } from '../../../src/nf/lib/lpm4';
import { Lpm6 } from '../../../src/nf/lib/lpm6';

const mask4 = (len: number) => (len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0);

function naive4(rules: Map<string, number>, addr: number): number {
  let best = -1;
  let hop = LPM_MISS;
  for (const [k, nh] of rules) {
    const [p, l] = k.split('/').map(Number);
    if (l > best && ((addr & mask4(l)) >>> 0) === p) {
      best = l;
      hop = nh;
    }
  }
  return hop;
}

function inPrefix6(addr: Uint8Array, p: Uint8Array, len: number): boolean {
  for (let bit = 0; bit < len; bit++) if (((addr[bit >> 3] ^ p[bit >> 3]) >> (7 - (bit & 7))) & 1) return false;
  return true;
}

describe('Lpm4 (DIR-24-8)', () => {
  const lpm = new Lpm4(64);

  test('examples: default route, nesting across the /24 boundary, removal restores the covering rule', () => {
    lpm.clear();
    const ip = (a: number, b: number, c: number, d: number) => ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
    expect(lpm.lookup(ip(10, 1, 2, 3))).toBe(LPM_MISS);
    lpm.add(0, 0, 1);
    lpm.add(ip(10, 0, 0, 0), 8, 2);
    lpm.add(ip(10, 1, 2, 0), 24, 3);
    lpm.add(ip(10, 1, 2, 128), 25, 4);
    lpm.add(ip(10, 1, 2, 3), 32, 5);
    expect([ip(9, 9, 9, 9), ip(10, 9, 9, 9), ip(10, 1, 2, 1), ip(10, 1, 2, 200), ip(10, 1, 2, 3)].map((a) => lpm.lookup(a))).toEqual([1, 2, 3, 4, 5]);
    expect(lpm.groupsUsed).toBe(1);
    lpm.remove(ip(10, 1, 2, 128), 25);
    lpm.remove(ip(10, 1, 2, 3), 32);
    expect(lpm.lookup(ip(10, 1, 2, 200))).toBe(3);
    expect(lpm.groupsUsed).toBe(0); // the /24's group went back into tbl24
    expect(lpm.remove(ip(10, 1, 2, 0), 24)).toBe(true);
    expect(lpm.lookup(ip(10, 1, 2, 200))).toBe(2);
    expect(lpm.remove(ip(10, 1, 2, 0), 24)).toBe(false);
    expect(lpm.size).toBe(2);
    expect(() => lpm.add(0, 33, 1)).toThrow(/0\.\.32/);
    expect(() => lpm.add(0, 8, 1 << 24)).toThrow(/next hop/);
  });

  test('property: agrees with the naive reference after random adds and removes', () => {
    // prefixes drawn near a few bases, so they nest and overlap across the /24 boundary
    const bases = [0x0a000000, 0x0a010200, 0xc0a80000, 0xffffff00];
    const prefix = fc.record({ base: fc.constantFrom(...bases), jitter: fc.oneof(fc.constantFrom(0, 1, 0x80, 0x81, 0x100, 0x180, 0x200), fc.nat(0xffff)), len: fc.oneof(fc.constantFrom(0, 8, 15, 16, 23, 24, 25, 26, 31, 32), fc.integer({ min: 0, max: 32 })), nh: fc.nat(0xffffff) });
    // removes mostly name a rule added before (`pick`), sometimes one that is not there
    const op = fc.oneof({ weight: 3, arbitrary: prefix.map((p) => ({ add: true, pick: -1, ...p })) }, { weight: 2, arbitrary: fc.tuple(prefix, fc.integer({ min: -1, max: 100 })).map(([p, pick]) => ({ add: false, pick, ...p })) });
    fc.assert(
      fc.property(fc.array(op, { minLength: 40, maxLength: 80 }), fc.array(fc.nat(0xffff), { minLength: 20, maxLength: 20 }), (ops, probes) => {
        lpm.clear();
        const rules = new Map<string, number>();
        const touched: number[] = [];
        for (const o of ops) {
          let p = ((o.base + o.jitter) & mask4(o.len)) >>> 0;
          let len = o.len;
          if (!o.add && o.pick >= 0 && rules.size > 0) [p, len] = [...rules.keys()][o.pick % rules.size].split('/').map(Number);
          touched.push(p, (p + 1) >>> 0, (p + 0x80) >>> 0, (p + 0xff) >>> 0, (p + 0x100) >>> 0);
          if (o.add) {
            if (o.len > 24 && lpm.groupsUsed === lpm.tbl8Groups) continue;
            lpm.add(p, o.len, o.nh);
            rules.set(`${p}/${o.len}`, o.nh);
          } else {
            expect(lpm.remove(p, len)).toBe(rules.delete(`${p}/${len}`));
          }
        }
        expect(lpm.size).toBe(rules.size);
        for (const b of bases) for (const j of probes) {
          const a = (b + j) >>> 0;
          expect(lpm.lookup(a)).toBe(naive4(rules, a));
        }
        for (const a of touched) expect(lpm.lookup(a)).toBe(naive4(rules, a)); // in and around every prefix named
        if (rules.size === 0) expect(lpm.groupsUsed).toBe(0);
      }),
      { numRuns: 12 },
    );
  });
});

describe('Lpm6 (stride-8 trie)', () => {
  test('examples', () => {
    const lpm = new Lpm6(64);
    const a = (t: string) => parseIpv6(t)!;
    lpm.add(a('::'), 0, 9);
    lpm.add(a('2001:db8::'), 32, 1);
    lpm.add(a('2001:db8:1::'), 48, 2);
    lpm.add(a('2001:db8:1:2::'), 63, 3);
    lpm.add(a('2001:db8:1:2::7'), 128, 4);
    const look = (t: string) => lpm.lookup(a(t), 0);
    expect(['fe80::1', '2001:db8:9::1', '2001:db8:1:ff::', '2001:db8:1:3::1', '2001:db8:1:2::7', '2001:db8:1:2::8'].map(look)).toEqual([9, 1, 2, 3, 4, 3]);
    lpm.remove(a('2001:db8:1::'), 48);
    expect(look('2001:db8:1:ff::')).toBe(1);
    const used = lpm.groupsUsed;
    lpm.remove(a('2001:db8:1:2::7'), 128);
    expect(lpm.groupsUsed).toBeLessThan(used);
    expect(look('2001:db8:1:2::7')).toBe(3);
    // reads the address in place, e.g. at a packet's destination-address offset
    const frame = new Uint8Array(80);
    frame.set(a('2001:db8:1:2::7'), 38);
    expect(lpm.lookup(frame, 38)).toBe(3);
  });

  test('property: agrees with the naive reference after random adds and removes', () => {
    const base = [parseIpv6('2001:db8::')!, parseIpv6('fe80::')!, parseIpv6('::')!];
    const addr = fc.record({ b: fc.nat(2), tail: fc.uint8Array({ minLength: 16, maxLength: 16 }), spread: fc.integer({ min: 2, max: 16 }) }).map(({ b, tail, spread }) => {
      const x = Uint8Array.from(base[b]);
      for (let i = spread; i < 16; i++) x[i] = tail[i];
      x[spread - 1] ^= tail[0] & 3;
      return x;
    });
    const op = fc.record({ add: fc.boolean(), a: addr, len: fc.oneof(fc.constantFrom(0, 7, 8, 9, 16, 32, 47, 48, 63, 64, 127, 128), fc.integer({ min: 0, max: 128 })), nh: fc.nat(1000), pick: fc.integer({ min: -1, max: 100 }) });
    fc.assert(
      fc.property(fc.array(op, { minLength: 20, maxLength: 60 }), fc.array(addr, { minLength: 30, maxLength: 30 }), (ops, probes) => {
        const lpm = new Lpm6(512);
        const rules: { p: Uint8Array; len: number; nh: number }[] = [];
        const find = (p: Uint8Array, len: number) => rules.findIndex((r) => r.len === len && inPrefix6(r.p, p, len) && inPrefix6(p, r.p, len));
        for (const op of ops) {
          const o: { add: boolean; a: Uint8Array; len: number; nh: number } = { ...op };
          if (!o.add && op.pick >= 0 && rules.length > 0) {
            const r = rules[op.pick % rules.length];
            o.a = r.p;
            o.len = r.len;
          }
          const k = find(o.a, o.len);
          if (o.add) {
            lpm.add(o.a, o.len, o.nh);
            if (k >= 0) rules[k].nh = o.nh;
            else rules.push({ p: o.a, len: o.len, nh: o.nh });
          } else {
            expect(lpm.remove(o.a, o.len)).toBe(k >= 0);
            if (k >= 0) rules.splice(k, 1);
          }
        }
        const naive = (x: Uint8Array) => {
          let best: { len: number; nh: number } | null = null;
          for (const r of rules) if (inPrefix6(x, r.p, r.len) && (best === null || r.len > best.len)) best = r;
          return best === null ? LPM_MISS : best.nh;
        };
        for (const x of [...probes, ...rules.map((r) => r.p)]) expect(lpm.lookup(x, 0)).toBe(naive(x));
        if (rules.length === 0) expect(lpm.groupsUsed).toBe(1);
      }),
      { numRuns: 150 },
    );
  });
});
