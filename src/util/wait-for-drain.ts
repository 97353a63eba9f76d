import type { Writable } from 'node:stream';

/** Resolves when `stream` drains or closes: the back-pressure wait after a `write` returned false. */
export function waitForDrain(stream: Writable): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      stream.off('drain', done);
      stream.off('close', done);
      resolve();
    };
    stream.on('drain', done);
    stream.on('close', done);
  });
}
