// The two-namespace lab: a person (or an end-to-end test) puts a simulated-NIC network function between two
// real Linux network stacks. labUp creates two network namespaces, each with a persistent TAP device the
// simulated NIC's ports open later (src/env/tap.ts enters the namespace to attach to it), addresses, a
// default route and static neighbour entries so traffic crosses the NF without any ARP responder in it.
//
// Topologies:
//   routed (default)  lan 10.0.0.2/24 on tnf-lan, default via 10.0.0.1; wan 10.1.0.2/24 on tnf-wan, default via
//                     10.1.0.1. Each gateway address is a permanent neighbour entry pointing at the OTHER side's
//                     TAP MAC, so a frame leaving one namespace for the gateway is addressed (at L2) to the
//                     other namespace's TAP: an L2-transparent NF (bridge, policer, firewall) delivers it as is,
//                     and a NAT whose external address is 10.1.0.1 gets the replies (wan resolves 10.1.0.1 to
//                     the lan TAP's MAC, which the NAT forwards to lan unchanged at L2).
//   flat              one subnet: lan 10.0.0.2/24, wan 10.0.0.3/24, no routes or static neighbours: ARP itself
//                     crosses the NF (for bridges).
// Only these test addresses are used, only inside the namespaces: nothing leaves them. IPv6 is disabled on
// the TAPs so the only frames the kernel sends are the ones the user causes (no router solicitations, DAD, MLD).
//
// Each namespace also gets /etc/netns/NAME/hosts (which `ip netns exec` bind-mounts over /etc/hosts) naming
// the lab addresses, so programs that look up their own address (python3 -m http.server does) answer from
// the file instead of sending a DNS query into the NF and waiting for its timeout.
//
// Commands run: `ip` (iproute2). Everything is bounded in time and labDown is idempotent.
import * as fs from 'fs';
import { spawnSync } from 'child_process';
import { TinyNfError } from './environment';
import { checkInterfaceName, inNetworkNamespace, listNetworkNamespaces } from './tap';

export interface LabSide {
  /** Network namespace name (a /run/netns entry). */
  netns: string;
  /** TAP interface name inside it. */
  tap: string;
  /** The namespace's address on the TAP, CIDR form. */
  address: string;
  /** Routed topology: the default gateway (a permanent neighbour entry at the other TAP's MAC). */
  gateway: string | null;
  /** The TAP's MAC address (fixed, so the other side's neighbour entry can name it). */
  mac: string;
}

export interface Lab {
  topology: 'routed' | 'flat';
  lan: LabSide;
  wan: LabSide;
}

export interface LabOptions {
  topology?: 'routed' | 'flat';
  lan?: Partial<LabSide>;
  wan?: Partial<LabSide>;
}

const ROUTED: Lab = {
  topology: 'routed',
  lan: { netns: 'lan', tap: 'tnf-lan', address: '10.0.0.2/24', gateway: '10.0.0.1', mac: '02:74:6e:66:00:01' },
  wan: { netns: 'wan', tap: 'tnf-wan', address: '10.1.0.2/24', gateway: '10.1.0.1', mac: '02:74:6e:66:00:02' },
};
const FLAT: Lab = {
  topology: 'flat',
  lan: { ...ROUTED.lan, gateway: null },
  wan: { ...ROUTED.wan, address: '10.0.0.3/24', gateway: null },
};

/** The lab these options describe (defaults filled in), without touching the OS. */
export function labConfig(options: LabOptions = {}): Lab {
  const topology = options.topology ?? 'routed';
  if (topology !== 'routed' && topology !== 'flat') {
    throw new TinyNfError(`lab topology must be 'routed' or 'flat', not '${String(topology)}'`);
  }
  const base = topology === 'routed' ? ROUTED : FLAT;
  const lab: Lab = {
    topology,
    lan: { ...base.lan, ...options.lan },
    wan: { ...base.wan, ...options.wan },
  };
  for (const side of [lab.lan, lab.wan]) {
    checkNamespaceName(side.netns);
    checkInterfaceName(side.tap);
    if (!/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/.test(side.address)) {
      throw new TinyNfError(`lab address '${side.address}' must be IPv4 CIDR, e.g. 10.0.0.2/24`);
    }
    if (side.gateway !== null && !/^\d{1,3}(\.\d{1,3}){3}$/.test(side.gateway)) {
      throw new TinyNfError(`lab gateway '${side.gateway}' must be an IPv4 address`);
    }
    if (!/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/i.test(side.mac)) throw new TinyNfError(`lab MAC '${side.mac}' is malformed`);
  }
  if (lab.lan.netns === lab.wan.netns) throw new TinyNfError('the lan and wan namespaces must differ');
  return lab;
}

/**
 * Create the lab (needs root). Re-creates it if it exists already; refuses to touch a namespace of the same
 * name that tinynf did not create (one without our TAP in it and with other interfaces than lo).
 */
export function labUp(options: LabOptions = {}): Lab {
  const lab = labConfig(options);
  requireRoot();
  for (const side of [lab.lan, lab.wan]) {
    if (namespaceExists(side.netns) && !isOurs(side)) {
      throw new TinyNfError(
        `network namespace '${side.netns}' exists and was not made by tinynf lab (no ${side.tap} in it); ` +
          `remove it (ip netns del ${side.netns}) or choose another name`,
      );
    }
  }
  labDown(options);
  try {
    for (const [side, other] of [
      [lab.lan, lab.wan],
      [lab.wan, lab.lan],
    ]) {
      ip(['netns', 'add', side.netns]);
      ip(['-n', side.netns, 'link', 'set', 'lo', 'up']);
      // A persistent TAP: it exists without an fd (NO-CARRIER until the simulated NIC opens it).
      ip(['-n', side.netns, 'tuntap', 'add', 'dev', side.tap, 'mode', 'tap']);
      disableIpv6(side);
      writeHostsFile(lab, side);
      ip(['-n', side.netns, 'link', 'set', 'dev', side.tap, 'address', side.mac]);
      ip(['-n', side.netns, 'addr', 'add', side.address, 'dev', side.tap]);
      ip(['-n', side.netns, 'link', 'set', 'dev', side.tap, 'up']);
      if (side.gateway !== null) {
        ip(['-n', side.netns, 'neigh', 'replace', side.gateway, 'lladdr', other.mac, 'dev', side.tap, 'nud', 'permanent']);
        ip(['-n', side.netns, 'route', 'add', 'default', 'via', side.gateway, 'dev', side.tap]);
      }
    }
  } catch (e) {
    labDown(options);
    throw e;
  }
  return lab;
}

/** What labDown found and removed. */
export interface LabDownReport {
  removedNamespaces: string[];
  removedInterfaces: string[];
  /** Namespaces left alone because they hold interfaces tinynf did not create. */
  keptNamespaces: string[];
}

/** Remove the lab's TAPs and namespaces; does nothing for parts that are already gone (idempotent). */
export function labDown(options: LabOptions = {}): LabDownReport {
  const lab = labConfig(options);
  requireRoot();
  const report: LabDownReport = { removedNamespaces: [], removedInterfaces: [], keptNamespaces: [] };
  for (const side of [lab.lan, lab.wan]) {
    if (!namespaceExists(side.netns)) {
      removeHostsFile(side);
      continue;
    }
    if (interfaceIn(side.netns, side.tap)) {
      ip(['-n', side.netns, 'link', 'del', 'dev', side.tap]);
      report.removedInterfaces.push(`${side.netns}/${side.tap}`);
    }
    const others = interfacesIn(side.netns).filter((name) => name !== 'lo');
    if (others.length > 0) {
      report.keptNamespaces.push(side.netns);
      continue;
    }
    removeHostsFile(side);
    ip(['netns', 'del', side.netns]);
    report.removedNamespaces.push(side.netns);
  }
  return report;
}

/** Whether each part of the lab exists now. */
export function labStatus(options: LabOptions = {}): { netns: string; exists: boolean; tap: string; tapExists: boolean }[] {
  const lab = labConfig(options);
  return [lab.lan, lab.wan].map((side) => {
    const exists = namespaceExists(side.netns);
    return { netns: side.netns, exists, tap: side.tap, tapExists: exists && interfaceIn(side.netns, side.tap) };
  });
}

function requireRoot(): void {
  if (typeof process.geteuid === 'function' && process.geteuid() !== 0) {
    throw new TinyNfError('the lab needs root (network namespaces and TAP devices): run it with sudo');
  }
}

function checkNamespaceName(name: string): void {
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(name) || name === '.' || name === '..') {
    throw new TinyNfError(`invalid network namespace name '${name}'`);
  }
}

function namespaceExists(name: string): boolean {
  return listNetworkNamespaces().includes(name);
}

function isOurs(side: LabSide): boolean {
  return interfaceIn(side.netns, side.tap) || interfacesIn(side.netns).every((n) => n === 'lo');
}

function interfacesIn(netns: string): string[] {
  const r = spawnSync('ip', ['-n', netns, '-o', 'link', 'show'], { encoding: 'utf8', timeout: 10_000 });
  if (r.status !== 0) return [];
  // "2: tnf-lan: <...>" ; names of veth peers look like "veth0@if3".
  return r.stdout
    .split('\n')
    .map((line) => /^\d+:\s+([^:@\s]+)/.exec(line)?.[1])
    .filter((n): n is string => n !== undefined);
}

function interfaceIn(netns: string, name: string): boolean {
  return interfacesIn(netns).includes(name);
}

function disableIpv6(side: LabSide): void {
  // /proc/sys/net is per network namespace: write it from inside (absent when the kernel has no IPv6).
  inNetworkNamespace(side.netns, () => {
    const file = `/proc/sys/net/ipv6/conf/${side.tap}/disable_ipv6`;
    if (fs.existsSync(file)) fs.writeFileSync(file, '1');
  });
}

/** iproute2's per-namespace configuration directory (`ip netns exec` bind-mounts files found there). */
export const NETNS_ETC_DIR = '/etc/netns';
const HOSTS_MARK = '# written by tinynf lab; removed by tinynf lab down';

function writeHostsFile(lab: Lab, side: LabSide): void {
  const dir = `${NETNS_ETC_DIR}/${side.netns}`;
  const lines = [HOSTS_MARK, '127.0.0.1\tlocalhost'];
  lines.push(`${lab.lan.address.split('/')[0]}\tlan-host`, `${lab.wan.address.split('/')[0]}\twan-host`);
  if (lab.lan.gateway !== null) lines.push(`${lab.lan.gateway}\tlan-gateway`);
  if (lab.wan.gateway !== null) lines.push(`${lab.wan.gateway}\twan-gateway`);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(`${dir}/hosts`, lines.join('\n') + '\n');
}

function removeHostsFile(side: LabSide): void {
  const dir = `${NETNS_ETC_DIR}/${side.netns}`;
  const file = `${dir}/hosts`;
  try {
    if (!fs.readFileSync(file, 'utf8').startsWith(HOSTS_MARK)) return; // not ours
    fs.unlinkSync(file);
    if (fs.readdirSync(dir).length === 0) fs.rmdirSync(dir);
    if (fs.readdirSync(NETNS_ETC_DIR).length === 0) fs.rmdirSync(NETNS_ETC_DIR);
  } catch {
    // absent: nothing to remove
  }
}

function ip(args: string[]): void {
  const r = spawnSync('ip', args, { encoding: 'utf8', timeout: 10_000 });
  if (r.error) {
    const missing = (r.error as NodeJS.ErrnoException).code === 'ENOENT';
    throw new TinyNfError(missing ? 'the lab needs iproute2 (`ip`): apt-get install iproute2' : `ip ${args.join(' ')}: ${r.error.message}`);
  }
  if (r.status !== 0) throw new TinyNfError(`ip ${args.join(' ')} failed: ${r.stderr.trim()}`);
}
