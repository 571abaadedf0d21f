// DPDK's l2fwd, ported to tinynf's DPDK-like shim: every frame received on a port has its MAC addresses swapped
// and goes out of the paired port (0 <-> 1, 2 <-> 3, ...). The structure is DPDK's: EAL init, per-port
// configure / queue setup / start, then a main loop of rte_eth_rx_burst and rte_eth_tx_burst.
//
//   node dist/examples/l2fwd.js [--packets N]     runs it on two simulated ports with generated traffic
import { DpdkShim, RteMbuf } from '../src/compat';

export const MAX_PKT_BURST = 32;

/** Configure, set up and start every port of the shim, as l2fwd's main() does. */
export function l2fwdSetup(shim: DpdkShim): void {
  const ports = shim.rte_eth_dev_count_avail();
  if (ports < 2 || ports % 2 !== 0) throw new Error(`l2fwd needs an even number of ports, got ${ports}`);
  const pool = shim.rte_pktmbuf_pool_create('mbuf_pool', 8192, 256, 0, 2048);
  for (let port = 0; port < ports; port++) {
    shim.rte_eth_dev_configure(port, 1, 1);
    shim.rte_eth_rx_queue_setup(port, 0, 1024, 0, null, pool);
    shim.rte_eth_tx_queue_setup(port, 0, 1024, 0, null);
    shim.rte_eth_dev_start(port);
    shim.rte_eth_promiscuous_enable(port);
  }
}

/** l2fwd_simple_forward: swap the Ethernet addresses in place. */
function swapMacAddresses(m: RteMbuf): void {
  const b = m.buf;
  for (let i = 0; i < 6; i++) {
    const t = b[i];
    b[i] = b[i + 6];
    b[i + 6] = t;
  }
}

export interface L2fwdOptions {
  /** Checked after every round over the ports; the loop stops when it returns true. */
  until: () => boolean;
  /** Called after every round (e.g. to let an inline simulated NIC run). */
  afterRound?: () => void;
}

/** l2fwd_main_loop: forward until `until()`; returns packets forwarded per destination port. */
export function l2fwdMainLoop(shim: DpdkShim, options: L2fwdOptions): number[] {
  const ports = shim.rte_eth_dev_count_avail();
  const pkts: RteMbuf[] = new Array<RteMbuf>(MAX_PKT_BURST);
  const forwarded = new Array<number>(ports).fill(0);
  while (!options.until()) {
    for (let port = 0; port < ports; port++) {
      const n = shim.rte_eth_rx_burst(port, 0, pkts, MAX_PKT_BURST);
      for (let i = 0; i < n; i++) swapMacAddresses(pkts[i]);
      const destination = port ^ 1;
      if (n !== 0) forwarded[destination] += shim.rte_eth_tx_burst(destination, 0, pkts, n);
    }
    options.afterRound?.();
  }
  return forwarded;
}

/** Run l2fwd on two inline simulated ports fed by traffic generators; prints one JSON line. */
export function l2fwdOnSimulator(packetsPerPort: number): {
  forwarded: number[];
  transmitted: number[];
  violations: number;
} {
  // Loaded here so that importing this module for the shim functions does not need the simulator.
  /* eslint-disable @typescript-eslint/no-require-imports */
  const { SimMachine } = require('../src/sim/machine') as typeof import('../src/sim/machine');
  const { SimulatedEnvironment } = require('../src/env/simulated') as typeof import('../src/env/simulated');
  const { TrafficGenerator } = require('../src/sim/wires/generator') as typeof import('../src/sim/wires/generator');
  /* eslint-enable @typescript-eslint/no-require-imports */
  const machine = new SimMachine({ ports: 2 });
  const env = new SimulatedEnvironment(machine);
  const transmitted = [0, 0];
  const shim = new DpdkShim(env, machine.addresses.slice(0, 2));
  l2fwdSetup(shim);
  // Traffic starts once the ports are started (a generator's clock starts at its first frame request).
  for (let p = 0; p < 2; p++) {
    machine.nic(p).attachInput(new TrafficGenerator({ rate: 'line-rate', count: packetsPerPort, flows: 16, seed: p + 1 }));
    machine.nic(p).attachOutput({ frame: () => void transmitted[p]++ });
  }
  let idleRounds = 0;
  let last = -1;
  // 1 us per round: at line rate (64 B frames) about 15 frames arrive per port per round, below MAX_PKT_BURST.
  const forwarded = l2fwdMainLoop(shim, {
    afterRound: () => machine.advanceUs(1),
    until: () => {
      const now = transmitted[0] + transmitted[1];
      idleRounds = now === last ? idleRounds + 1 : 0;
      last = now;
      return now === 2 * packetsPerPort || idleRounds > 1000;
    },
  });
  return { forwarded, transmitted, violations: machine.violations.length };
}

if (require.main === module) {
  const at = process.argv.indexOf('--packets');
  const packets = at > 0 ? Number(process.argv[at + 1]) : 100_000;
  console.log(JSON.stringify({ example: 'l2fwd', packetsPerPort: packets, ...l2fwdOnSimulator(packets) }));
}
