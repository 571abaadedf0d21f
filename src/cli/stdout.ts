// Standard output of the `tinynf` command when its reader goes away (`tinynf doctor | head -3`): no error of ours.
// main.ts installs ignoreClosedReader; a command that writes much (decode) writes through writeOut, which waits
// while the pipe is full and tells it when to stop.

/** Whether the reader of standard output has gone (EPIPE): process.stdout is not destroyed by it. */
let readerGone = false;

/**
 * process.stdout's error handler: a closed reader (EPIPE) is noted and otherwise ignored, so the command ends as it
 * would (a run still stops its NICs and prints its summary to nobody) instead of with an EPIPE stack trace; any
 * other error is thrown.
 */
export function ignoreClosedReader(e: NodeJS.ErrnoException): void {
  if (e.code !== 'EPIPE' && e.code !== 'ERR_STREAM_DESTROYED') throw e;
  readerGone = true;
}

/**
 * Write to standard output and wait while it is full: to a pipe read slower than the lines are made (| less, | wc
 * on a capture of millions of frames), writes queued without waiting pile up in the stream until the kernel
 * refuses the batched write (ENOBUFS, seen with a 678 MB capture). False once the reader has closed the pipe.
 */
export async function writeOut(text: string): Promise<boolean> {
  if (readerGone) return false;
  if (!process.stdout.write(text)) {
    await new Promise<void>((resolve) => {
      const done = (): void => {
        process.stdout.off('drain', done);
        process.stdout.off('error', done);
        resolve();
      };
      process.stdout.on('drain', done);
      process.stdout.on('error', done); // the reader went away while the pipe was full: no drain comes
    });
  }
  // a turn of the event loop, so that a closed pipe's EPIPE is seen before the next chunk is made
  await new Promise<void>((resolve) => setImmediate(resolve));
  return !readerGone;
}
