// Worker for the shared-memory test: writes into the SharedArrayBuffer it is given, reads what the main thread
// wrote, and answers with what it saw.
import { parentPort, workerData } from 'worker_threads';

const words = new Int32Array(workerData.buffer as SharedArrayBuffer);
const seenFromMain = Atomics.load(words, 0);
Atomics.store(words, 1, 0x12345678);
Atomics.store(words, 1023, -2);
parentPort!.postMessage({ seenFromMain });
