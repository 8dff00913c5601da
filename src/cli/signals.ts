// The running exporter's signals: SIGINT and SIGTERM stop it (exit code 0), SIGHUP re-reads
// --web.config.file at once (it is also re-read when it changes).

import type { Logger } from '../runtime/logger.js';
import type { RunningServer } from '../web/server.js';

/** Longest a stop may take: whatever is still closing then does not hold the exit. */
const STOP_DEADLINE_MS = 900;

/** Resolves with the exit code once a stop signal has closed the server and `close`. */
export function untilStopped(opts: { readonly logger: Logger; readonly server: RunningServer; readonly close: () => Promise<void> }): Promise<number> {
  const { logger, server } = opts;
  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: NodeJS.Signals): void => {
      if (stopping) return;
      stopping = true;
      logger.info({ signal }, 'shutting down');
      setTimeout(() => resolve(0), STOP_DEADLINE_MS).unref();
      void Promise.allSettled([server.close(), opts.close()]).then(() => resolve(0));
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
    process.on('SIGHUP', () => {
      void server.reloadWebConfig().then(
        (outcome) => logger.info({ outcome }, 'web config reload on SIGHUP'),
        (error: unknown) => logger.error({ err: error instanceof Error ? error.message : String(error) }, 'web config reload failed'),
      );
    });
  });
}
