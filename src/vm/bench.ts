// `tinynf vm bench`: our virtio-net forwarders (restricted and flexible models, nop NF) against DPDK's dpdk-testpmd
// (io forwarding, its virtio PMD) on the same NICs in the same guest boot. Under TCG absolute rates mean nothing;
// the ratios are the result.
//
// Set-up: NICs A, B and C on one QEMU hub (a frame sent by one is received by the two others). A and B are bound to
// uio_pci_generic and forwarded by the forwarder under test (A -> B, B -> A); C stays with the guest kernel's
// virtio_net and only injects: once the forwarder runs, C sends INJECTED frames (to a unicast MAC nobody has, so no
// kernel answers), A and B both receive each one, and from then on every frame circulates A -> B -> A ... for as
// long as the forwarder keeps up (a dropped frame is gone). Each forwarder runs for `seconds` after the injection;
// its rate is the frames it transmitted divided by that time (every transmission happens after the injection starts;
// the clock starts when the injecting process has sent its last frame, a millisecond after its first: python's
// start-up, seconds under TCG, is not counted).
// The rate is that of a closed loop: INJECTED frames go round as fast as forwarder + device turn them around, so it
// measures the per-batch round trip (poll, publish, notify, QEMU's transmit handling) more than per-packet cost.
import * as path from 'path';
import { TinyNfError } from '../env/environment';
import { NicVariant, runGuest } from './guest';
import { GuestImage, prepareImage } from './image';

export type BenchForwarder = 'tinynf-restricted' | 'tinynf-flexible' | 'dpdk-testpmd';

export interface VirtioBenchRow {
  test: 'virtio';
  forwarder: BenchForwarder;
  variant: NicVariant;
  /** Frames transmitted per second after the injection, in millions. */
  mpps: number;
  /** mpps / the restricted model's mpps. */
  ratio: number;
  txPackets: number;
  seconds: number;
}

export interface VirtioBenchOptions {
  image?: GuestImage;
  variant?: NicVariant;
  /** Seconds each forwarder runs after the injection (default 8). */
  seconds?: number;
  /** Frames injected (default 32). */
  injected?: number;
  /** Also run dpdk-testpmd (default true; needs Debian's dpdk-dev on the host). */
  testpmd?: boolean;
  /** The repository whose compiled tree runs in the guest (default: this one). */
  repo?: string;
  onConsole?: (text: string) => void;
}

/** The guest's script: each forwarder in turn, then one line per forwarder in JOB/results. */
export function benchScript(seconds: number, injected: number, testpmd: boolean): string {
  // A raw Ethernet frame of 60 bytes: to 02:00:00:00:00:02 from 02:00:00:00:00:01, EtherType 0x88b5 (IEEE 802
  // local experimental), zero payload.
  const inject =
    `python3 -c "import socket,sys; s=socket.socket(socket.AF_PACKET,socket.SOCK_RAW); s.bind((sys.argv[1],0)); ` +
    `f=bytes.fromhex('020000000002020000000001' '88b5')+bytes(46); [s.send(f) for _ in range(${injected})]" "$IF"`;
  const lines = [
    'set -u',
    'A=0000:00:10.0; B=0000:00:11.0; C=0000:00:12.0; J=$TNFVM_JOB',
    'modprobe uio_pci_generic',
    'for d in $A $B; do echo $d > /sys/bus/pci/devices/$d/driver/unbind; echo uio_pci_generic > /sys/bus/pci/devices/$d/driver_override; echo $d > /sys/bus/pci/drivers_probe; done',
    'modprobe virtio_net',
    'IF=$(ls /sys/bus/pci/devices/$C/virtio*/net/)',
    'ip link set dev "$IF" up',
    // wait until `grep -q PATTERN FILE` succeeds or the process PID is gone (at most 300 s)
    'await() { i=0; until grep -q "$1" "$2" 2>/dev/null; do kill -0 $3 2>/dev/null || return 1; i=$((i+1)); [ $i -gt 3000 ] && return 1; sleep 0.1; done; }',
    'now() { date +%s.%N; }',
    'for model in restricted flexible; do',
    `  node bin/tinynf.js run nop --virtio $A $B --model $model --duration 900 --stop-file "$J/stop-$model" --json > "$J/$model.json" 2> "$J/$model.err" &`,
    '  pid=$!',
    '  await "] rx " "$J/$model.err" $pid || { echo "tinynf-$model did not start" >&2; cat "$J/$model.err" >&2; exit 1; }',
    `  ${inject}; t0=$(now)`,
    `  sleep ${seconds}; t1=$(now); touch "$J/stop-$model"; wait $pid`,
    '  tx=$(tail -n 1 "$J/$model.json" | sed -n \'s/.*"tx_packets":\\([0-9]*\\).*/\\1/p\')',
    '  echo "tinynf-$model $t0 $t1 $tx" >> "$J/results"',
    'done',
  ];
  if (testpmd) {
    lines.push(
      'dpdk-testpmd -l 0-1 -n 1 --huge-dir=/dev/hugepages -a $A -a $B -- --forward-mode=io --nb-cores=1 --total-num-mbufs=8192 --stats-period=1 > "$J/testpmd.out" 2>&1 &',
      'pid=$!',
      'await "Port statistics" "$J/testpmd.out" $pid || { echo "dpdk-testpmd did not start" >&2; tail -n 30 "$J/testpmd.out" >&2; exit 1; }',
      `${inject}; t0=$(now)`,
      `sleep ${seconds}; t1=$(now); kill -INT $pid; wait $pid`,
      // the summary after SIGINT: "Forward statistics for port N" ... "TX-packets: X"; the last block is the total
      'tx=$(grep -A3 "Accumulated forward statistics for all ports" "$J/testpmd.out" | sed -n \'s/.*TX-packets: *\\([0-9]*\\).*/\\1/p\' | head -n 1)',
      'echo "dpdk-testpmd $t0 $t1 $tx" >> "$J/results"',
    );
  }
  lines.push('cat "$J/results"');
  return lines.join('\n');
}

/** Boot one guest and measure each forwarder; rows in the order restricted, flexible, testpmd. */
export async function runVirtioBench(options: VirtioBenchOptions = {}): Promise<VirtioBenchRow[]> {
  const variant = options.variant ?? 'modern';
  const seconds = options.seconds ?? 8;
  const injected = options.injected ?? 32;
  const testpmd = options.testpmd ?? true;
  const r = await runGuest({
    image: options.image ?? prepareImage(),
    command: { script: benchScript(seconds, injected, testpmd) },
    cwd: options.repo ?? path.join(__dirname, '..', '..', '..'),
    variant,
    nics: [0, 1, 2].map(() => ({ backend: { kind: 'hub' as const, hub: 0 } })),
    hugepages: 256,
    memoryMiB: 1024,
    timeoutMs: 600_000,
    onConsole: options.onConsole,
  });
  if (r.exitCode !== 0) {
    throw new TinyNfError(`vm bench failed (exit ${r.exitCode}${r.timedOut ? ', timed out' : ''}): ${(r.stderr || r.console).trim().split('\n').slice(-12).join(' / ')}`);
  }
  const rows: VirtioBenchRow[] = [];
  for (const line of r.stdout.trim().split('\n')) {
    const [name, t0, t1, tx] = line.trim().split(/\s+/);
    const txPackets = Number(tx);
    const s = Number(t1) - Number(t0);
    if (!Number.isFinite(txPackets) || !(s > 0)) throw new TinyNfError(`vm bench: unreadable result line '${line}'`);
    rows.push({ test: 'virtio', forwarder: name as BenchForwarder, variant, mpps: txPackets / s / 1e6, ratio: 0, txPackets, seconds: s });
  }
  const base = rows.find((row) => row.forwarder === 'tinynf-restricted');
  for (const row of rows) row.ratio = base !== undefined && base.mpps > 0 ? row.mpps / base.mpps : 0;
  return rows;
}
