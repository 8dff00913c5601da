// The logger's writer on a real stderr pipe, in a child node: the exit flush (blocking and
// non-blocking pipes, the stall limit), short writes and EAGAIN, a reader that stalls or is gone.
// Real processes and pipes, so these wait for them; the writer's own logic is in
// test/unit/logger.test.ts on an injected clock.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { EXIT_STALL_LIMIT_MS, MAX_BUFFERED_LOG_BYTES } from '../../src/runtime/fd-line-writer.js';

const T0 = Date.UTC(2026, 0, 2, 3, 4, 5, 678);
const TS = '2026-01-02T03:04:05.678Z';
const LOGGER_URL = new URL('../../src/runtime/logger.js', import.meta.url).href;
const WRITER_URL = new URL('../../src/runtime/fd-line-writer.js', import.meta.url).href;

interface Child {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs `body` as an ES module in a child node with `createLogger` in scope and stderr a pipe.
 * holdStderr: the parent does not read stderr until the child writes a line on stdout.
 */
function runChild(body: string, opts: { holdStderr?: boolean; closeStderr?: boolean } = {}): Promise<Child> {
  const code = `import { createLogger } from ${JSON.stringify(LOGGER_URL)};\n${body}`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', code], { stdio: ['pipe', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let stdout = '';
    const err: Buffer[] = [];
    const readStderr = (): void => {
      child.stderr.on('data', (c: Buffer) => err.push(c));
      child.stderr.resume();
    };
    if (opts.closeStderr) {
      child.stderr.destroy();
      child.stdin.write('closed\n');
    } else if (opts.holdStderr) {
      child.stderr.pause();
    } else {
      readStderr();
    }
    child.stdout.setEncoding('utf8').on('data', (c: string) => {
      stdout += c;
      if (opts.holdStderr && stdout.includes('\n') && child.stderr.listenerCount('data') === 0) readStderr();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ code: status, stdout, stderr: Buffer.concat(err).toString('utf8') });
    });
  });
}

const seqLine = (i: number): string => `ts=${TS} level=info msg=storm seq=${String(i).padStart(7, '0')} pad=${'x'.repeat(40)}\n`;
const CHILD_STORM = (n: number): string =>
  `const logger = createLogger({ level: 'info', format: 'logfmt', now: () => ${T0} });
   for (let i = 0; i < ${n}; i += 1) logger.info({ seq: String(i).padStart(7, '0'), pad: 'x'.repeat(40) }, 'storm');`;

test('stderr: what is still queued at exit is written synchronously, in order, even past the pipe size', async () => {
  const n = 20_000; // ~1.7 MB: many times a pipe's 64 KiB, so the exit flush waits for the reader
  // stderr is read only once the child is exiting (said on stdout, leaving stderr blocking)
  const r = await runChild(`${CHILD_STORM(n)}\n(await import('node:fs')).writeSync(1, 'exiting\\n');\nprocess.exit(0);`, { holdStderr: true });
  assert.equal(r.code, 0);
  const expected = Array.from({ length: n }, (_, i) => seqLine(i)).join('');
  assert.equal(r.stderr.length, expected.length);
  assert.ok(r.stderr === expected, 'every line, byte for byte, in order');
});

test('stderr: the exit flush also waits out EAGAIN when stderr is non-blocking', async () => {
  const n = 20_000;
  // Touching process.stderr makes Node set O_NONBLOCK on a pipe: writeSync then gets EAGAIN.
  // stderr is read only once the child is exiting (its stdout line), so the pipe is full by then.
  const r = await runChild(
    `process.stderr; const flags = (await import('node:fs')).readFileSync('/proc/self/fdinfo/2', 'utf8');
     ${CHILD_STORM(n)}
     process.stdout.write(/flags:\\s*(\\d+)/.exec(flags)[1] + '\\n');
     process.exit(0);`,
    { holdStderr: true },
  );
  assert.equal(r.code, 0);
  assert.ok((parseInt(r.stdout.trim(), 8) & 0o4000) !== 0, `stderr is O_NONBLOCK in the child (flags ${r.stdout.trim()})`);
  assert.ok(r.stderr === Array.from({ length: n }, (_, i) => seqLine(i)).join(''), 'every line, in order');
});

test('stderr: a reader that keeps taking a little holds the exit flush no longer than the stall limit', async (t) => {
  const n = 100_000; // ~8.5 MB queued at exit; the reader takes one chunk every 30 ms
  const code = `import { createLogger } from ${JSON.stringify(LOGGER_URL)};
    process.stderr; // Node makes the pipe O_NONBLOCK, as the exporter does with a pipe or socket
    ${CHILD_STORM(n)}
    process.stdout.write('exiting\\n', () => process.exit(0));`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'pipe'] });
  let exitingAt: number | undefined;
  let received = 0;
  child.stdout.setEncoding('utf8').on('data', (c: string) => {
    if (c.includes('exiting')) exitingAt ??= Date.now();
  });
  child.stderr.on('data', (c: Buffer) => {
    received += c.length;
    child.stderr.pause();
    setTimeout(() => child.stderr.resume(), 30).unref();
  });
  const killer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  const [status, exitedAt] = await new Promise<[number | null, number]>((resolve) => child.on('exit', (c) => resolve([c, Date.now()])));
  clearTimeout(killer);
  assert.equal(status, 0);
  assert.ok(exitingAt !== undefined, 'the child got to its exit');
  const ms = exitedAt - exitingAt;
  assert.ok(ms < EXIT_STALL_LIMIT_MS + 400, `the exit took ${ms} ms with ${received} of ~${n * seqLine(0).length} bytes read (limit ${EXIT_STALL_LIMIT_MS} ms)`);
  assert.ok(received > 0 && received < n * seqLine(0).length, `the reader got part of the log (${received} bytes)`);
  t.diagnostic(`exit flush ${ms} ms, ${received} bytes read`);
});

test('FdLineWriter on a non-blocking pipe: short writes and EAGAIN go on from where they stopped, every byte once, in order', async () => {
  const n = 20_000; // ~1.7 MB through a 64 KiB pipe read late: writev comes back short or with EAGAIN
  const r = await runChild(
    `process.stderr; // Node makes the pipe O_NONBLOCK
     const { FdLineWriter } = await import(${JSON.stringify(WRITER_URL)});
     const writer = new FdLineWriter(2); // not the shared one: no exit flush, only the asynchronous path
     for (let i = 0; i < ${n}; i += 1) {
       writer.write(\`ts=${TS} level=info msg=storm seq=\${String(i).padStart(7, '0')} pad=${'x'.repeat(40)}\\n\`);
       if (i % 1000 === 999) await new Promise((r) => setImmediate(r));
     }
     process.stdout.write('queued\\n'); // only now does the parent read: the pipe has been full
     const iv = setInterval(() => {
       if (writer.bufferedBytes > 0) return;
       clearInterval(iv);
       process.stdout.write(JSON.stringify({ dropped: writer.droppedLines }) + '\\n');
       process.exit(0);
     }, 5);`,
    { holdStderr: true },
  );
  assert.equal(r.code, 0);
  const [queued, report] = r.stdout.trim().split('\n');
  assert.equal(queued, 'queued');
  assert.deepEqual(JSON.parse(report ?? ''), { dropped: 0 });
  const expected = Array.from({ length: n }, (_, i) => seqLine(i)).join('');
  assert.equal(r.stderr.length, expected.length);
  assert.ok(r.stderr === expected, 'every line, byte for byte, in order');
});

test('stderr: a reader that stalls never stalls the event loop; past 16 MiB the newest lines are dropped and counted', async () => {
  const lineBytes = seqLine(0).length;
  const n = Math.ceil((MAX_BUFFERED_LOG_BYTES * 1.25) / lineBytes);
  const r = await runChild(
    `${CHILD_STORM(n)}
     // The parent reads nothing yet: the timers must still run.
     let ticks = 0;
     const t0 = Date.now();
     const iv = setInterval(() => { ticks += 1; }, 10);
     setTimeout(() => {
       clearInterval(iv);
       process.stdout.write(JSON.stringify({ dropped: logger.droppedLines, ticks, ms: Date.now() - t0 }) + '\\n');
     }, 300);`,
    { holdStderr: true },
  );
  assert.equal(r.code, 0);
  const report = JSON.parse(r.stdout) as { dropped: number; ticks: number; ms: number };
  assert.ok(report.ticks >= 5, `timers ran while stderr was stalled (${report.ticks} ticks in ${report.ms} ms)`);
  const kept = n - report.dropped;
  assert.ok(report.dropped > 0 && kept > 0, `dropped ${report.dropped} of ${n}`);
  assert.ok(kept * lineBytes <= MAX_BUFFERED_LOG_BYTES, 'no more than 16 MiB was queued');
  assert.ok((kept + 1) * lineBytes > MAX_BUFFERED_LOG_BYTES, 'one more line would have passed 16 MiB: the bound, exactly');
  assert.ok(r.stderr === Array.from({ length: kept }, (_, i) => seqLine(i)).join(''), 'the oldest lines, in order; the newest dropped');
});

test('stderr: a reader that is gone (EPIPE) costs nothing but counted drops', async () => {
  const r = await runChild(
    `process.stdin.once('data', () => {
       for (let i = 0; i < 10; i += 1) logger.info({ i }, 'into the void');
       setTimeout(() => {
         for (let i = 0; i < 5; i += 1) logger.info({ i }, 'still nobody');
         process.stdout.write(JSON.stringify({ dropped: logger.droppedLines }) + '\\n');
         process.stdin.destroy();
       }, 200);
     });
     const logger = createLogger({ level: 'info', format: 'logfmt' });`,
    { closeStderr: true },
  );
  assert.equal(r.code, 0);
  assert.deepEqual(JSON.parse(r.stdout), { dropped: 15 });
});
