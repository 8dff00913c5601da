// The event loop during a wrong-password flood, in-process: the authenticator with its real
// bcrypt thread, 32 clients' worth of distinct wrong passwords at cost 10, and the loop's delay
// measured meanwhile (perf_hooks.monitorEventLoopDelay). bcrypt on the loop would put a whole
// comparison (tens of milliseconds at cost 10: docs/web-configuration.md) into the delay of most
// samples.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import bcrypt from 'bcryptjs';
import { BasicAuthenticator, CheckQueue } from '../../src/web/basic-auth.js';
import { BcryptWorker } from '../../src/web/bcrypt-worker.js';

const FLOOD_CLIENTS = 32;
const FLOOD_ADDRESS = '127.0.0.2';

describe('the event loop during a wrong-password flood (in-process)', () => {
  it('stays free: bcrypt runs on its thread', async (t) => {
    const worker = new BcryptWorker();
    const auth = new BasicAuthenticator(new Map([['prometheus', bcrypt.hashSync('s3cret', 10)]]), new CheckQueue(worker));
    const delay = monitorEventLoopDelay({ resolution: 5 });
    let stop = false;
    let guess = 0;
    const results = new Map<string, number>();
    const guesser = async (): Promise<void> => {
      while (!stop) {
        const r = await auth.verify({ user: 'prometheus', password: `guess-${++guess}` }, FLOOD_ADDRESS);
        results.set(r, (results.get(r) ?? 0) + 1);
        // A busy answer comes at once; the next guess after a short pause, so that what is
        // measured is bcrypt's share of the loop, not this loop's own spinning.
        if (r === 'busy') await new Promise((resolve) => setTimeout(resolve, 10));
      }
    };
    try {
      delay.enable();
      const guessers = Array.from({ length: FLOOD_CLIENTS }, () => guesser());
      await new Promise((r) => setTimeout(r, 2000));
      stop = true;
      delay.disable();
      await Promise.all(guessers);
      const ms = (ns: number): number => Math.round(ns / 1e5) / 10;
      const summary = `event loop delay p50 ${ms(delay.percentile(50))} ms, p99 ${ms(delay.percentile(99))} ms, max ${ms(delay.max)} ms; ${auth.bcryptRuns} bcrypt checks at cost 10 in 2 s; ${JSON.stringify(Object.fromEntries(results))}`;
      t.diagnostic(summary);
      assert.ok(auth.bcryptRuns >= 5, `the flood kept bcrypt busy: ${summary}`);
      // The median, not the tail: on a busy machine the tail is the scheduler's; bcrypt on the loop
      // puts most of a comparison into the median.
      assert.ok(delay.percentile(50) < 25e6, summary);
    } finally {
      stop = true;
      worker.close();
    }
  });
});
