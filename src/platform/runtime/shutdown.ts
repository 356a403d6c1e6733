import { messageOf } from '../errors/message-of';

/**
 * Graceful shutdown on SIGINT/SIGTERM, installed before start-up begins, so that a signal that
 * arrives while the process is still starting waits for start-up and then stops what it started.
 */
export function onShutdownSignal(started: Promise<() => Promise<void>>, log: (signal: string) => void): void {
  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    log(signal);
    started
      .then((close) => close())
      .then(
        () => process.exit(0),
        (error: unknown) => {
          process.stderr.write(`Shutdown failed: ${messageOf(error)}\n`);
          process.exit(1);
        },
      );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
