// The DPDK-like shim's rules, on one fake port whose data path is the mini NIC (hairpin: port 0 -> port 0).
import { SimulatedEnvironment } from '../../src/env/simulated';
import { TinyNfError } from '../../src/env/environment';
import { DpdkShim, RteMbuf } from '../../src/compat';
import { FAKE_ADDRESS, FakePlatform } from '../ixgbe/helpers/fake-platform';
import { MiniNic } from '../ixgbe/helpers/mini-nic';
import { frame, range, verify } from '../ixgbe/helpers/scenarios';

function setup(): { shim: DpdkShim; nic: MiniNic; env: SimulatedEnvironment } {
  const platform = new FakePlatform();
  const env = new SimulatedEnvironment(platform);
  const shim = new DpdkShim(env, [FAKE_ADDRESS]);
  const nic = new MiniNic(platform);
  const pool = shim.rte_pktmbuf_pool_create('p', 1024, 0, 0, 2048);
  shim.rte_eth_dev_configure(0, 1, 1);
  shim.rte_eth_rx_queue_setup(0, 0, 1024, 0, null, pool);
  shim.rte_eth_tx_queue_setup(0, 0, 1024, 0, null);
  shim.rte_eth_dev_start(0);
  return { shim, nic, env };
}

function receiveSome(shim: DpdkShim, env: SimulatedEnvironment, nic: MiniNic, count: number, first = 0): RteMbuf[] {
  for (let i = 0; i < count; i++) nic.pending.push(frame(first + i));
  const pkts: RteMbuf[] = [];
  env.sleepUs(1);
  const n = shim.rte_eth_rx_burst(0, 0, pkts, 32);
  expect(n).toBe(Math.min(count, 32));
  return pkts.slice(0, n);
}

function flushOut(shim: DpdkShim, env: SimulatedEnvironment): void {
  const none: RteMbuf[] = [];
  for (let i = 0; i < 3; i++) {
    shim.rte_eth_rx_burst(0, 0, none, 0);
    shim.rte_eth_rx_burst(0, 0, none, 32); // idle: flushes transmit tails
    env.sleepUs(1);
  }
}

describe('DPDK-like shim over the restricted agent', () => {
  test('rx_burst / tx_burst / free in any order complete in arrival order', () => {
    const { shim, nic, env } = setup();
    const pkts = receiveSome(shim, env, nic, 8);
    expect(pkts.map((m) => verify(m.buf.subarray(0, m.data_len)))).toEqual(range(0, 8));
    // decide the newest first: free 7, send 6..1 one by one backwards, free 0
    shim.rte_pktmbuf_free(pkts[7]);
    for (let i = 6; i >= 1; i--) expect(shim.rte_eth_tx_burst(0, 0, [pkts[i]], 1)).toBe(1);
    shim.rte_pktmbuf_free(pkts[0]);
    flushOut(shim, env);
    expect((nic.sent[0] ?? []).map((f) => verify(f))).toEqual(range(1, 7));
    expect(shim.rte_eth_stats_get(0)).toEqual({ ipackets: 8, opackets: 6, idropped: 2 });
  });

  test('the transmitted length is the mbuf data_len', () => {
    const { shim, nic, env } = setup();
    const [m] = receiveSome(shim, env, nic, 1);
    m.data_len = 60;
    shim.rte_eth_tx_burst(0, 0, [m], 1);
    flushOut(shim, env);
    expect(nic.sent[0][0].length).toBe(60);
  });

  test('refuses to keep an mbuf past the next rx_burst', () => {
    const { shim, nic, env } = setup();
    const pkts = receiveSome(shim, env, nic, 4);
    shim.rte_pktmbuf_free(pkts[0]);
    expect(() => shim.rte_eth_rx_burst(0, 0, [], 32)).toThrow(/3 mbuf\(s\) of the previous burst/);
  });

  test('refuses double frees, allocation, extra queues and unknown ports', () => {
    const { shim, nic, env } = setup();
    const [m] = receiveSome(shim, env, nic, 1);
    shim.rte_pktmbuf_free(m);
    expect(() => shim.rte_pktmbuf_free(m)).toThrow(TinyNfError);
    expect(() => shim.rte_eth_tx_burst(0, 0, [m], 1)).toThrow(/already transmitted or freed/);
    expect(() => shim.rte_pktmbuf_alloc({ name: 'p' })).toThrow(/no free buffers/);
    expect(() => shim.rte_eth_dev_configure(0, 2, 1)).toThrow(/exactly 1 RX and 1 TX queue/);
    expect(() => shim.rte_eth_tx_burst(3, 0, [], 0)).toThrow(/not a started port/);
    expect(() => shim.rte_eth_dev_start(0)).toThrow(/already started/);
    expect(() => shim.rte_eth_dev_configure(0, 1, 1)).toThrow(/started port cannot be reconfigured/);
  });

  test('refcnt: one mbuf sent twice completes once both references are gone', () => {
    const { shim, nic, env } = setup();
    const [m] = receiveSome(shim, env, nic, 1);
    expect(shim.rte_mbuf_refcnt_update(m, 1)).toBe(2);
    shim.rte_eth_tx_burst(0, 0, [m], 1);
    expect(m.refcnt).toBe(1);
    shim.rte_pktmbuf_free(m);
    flushOut(shim, env);
    expect(nic.sent[0].length).toBe(1);
  });
});
