// The HTTP side of `tinynf run --metrics`: a worker thread (the packet loop never yields to the event loop) serving
// GET /metrics with the latest Prometheus text the run loop published into shared memory (see metrics.ts).
import * as http from 'http';
import { workerData } from 'worker_threads';
import { MetricsShared, STATUS_ERROR, STATUS_LISTENING, readSnapshot, writeStatus } from './metrics-shared';

const shared = workerData as MetricsShared;

const server = http.createServer((req, res) => {
  const url = (req.url ?? '/').split('?')[0];
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { allow: 'GET, HEAD' }).end();
    return;
  }
  if (url !== '/metrics') {
    res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found: the metrics are at /metrics\n');
    return;
  }
  const body = readSnapshot(shared);
  // Prometheus text exposition format 0.0.4
  res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8', 'content-length': Buffer.byteLength(body) });
  res.end(req.method === 'HEAD' ? undefined : body);
});

server.on('error', (e: Error) => writeStatus(shared, STATUS_ERROR, e.message));
server.listen(shared.port, shared.host, () => {
  const address = server.address();
  writeStatus(shared, STATUS_LISTENING, typeof address === 'object' && address !== null ? String(address.port) : '');
});
