import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writev } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EXIT_STALL_LIMIT_MS, FdLineWriter, MAX_BUFFERED_LOG_BYTES, createLogger, rateLimited, type Logger, type LoggerOptions } from '../../src/logger.js';
import type { LogLevel } from '../../src/config.js';

const T0 = Date.UTC(2026, 0, 2, 3, 4, 5, 678);
const TS = '2026-01-02T03:04:05.678Z';
const LOGGER_URL = new URL('../../src/logger.js', import.meta.url).href;

function capture(opts: Omit<LoggerOptions, 'destination'>): { lines: string[]; logger: Logger } {
  const lines: string[] = [];
  const logger = createLogger({
    ...opts,
    destination: {
      write(chunk: string) {
        lines.push(chunk);
      },
    },
  });
  return { lines, logger };
}

function oneLine(format: 'logfmt' | 'json', log: (logger: Logger) => void): string {
  const { lines, logger } = capture({ level: 'debug', format, now: () => T0 });
  log(logger);
  assert.equal(lines.length, 1, 'one write per line');
  return lines[0] as string;
}

const circular: Record<string, unknown> = { a: 1 };
circular['self'] = circular;

// [name, fields, msg, logfmt after "ts=… level=info", JSON after '{"ts":"…","level":"info"'].
// The same bytes as the pino → JSON → logfmt pipeline wrote, except where a name says otherwise.
const SHAPES: ReadonlyArray<readonly [string, Record<string, unknown>, string | undefined, string, string]> = [
  [
    'the carrier line',
    { device: 'eth1', from: 'up', to: 'down', changes: 1 },
    'carrier changed',
    ' msg="carrier changed" device=eth1 from=up to=down changes=1',
    ',"msg":"carrier changed","device":"eth1","from":"up","to":"down","changes":1}',
  ],
  [
    'quoting as the logfmt package does',
    { plain: 'eth0', space: 'a b', eq: 'a=b', quote: 'say "hi"', backslash: 'C:\\dir', empty: '', word: 'null', other: 'süß☃' },
    'quoting',
    String.raw` msg=quoting plain=eth0 space="a b" eq="a=b" quote="say \"hi\"" backslash="C:\\dir" empty="" word=null other=süß☃`,
    String.raw`,"msg":"quoting","plain":"eth0","space":"a b","eq":"a=b","quote":"say \"hi\"","backslash":"C:\\dir","empty":"","word":"null","other":"süß☃"}`,
  ],
  [
    'control characters, U+2028 and U+2029 give a JSON string',
    { nl: 'a\nb', cr: 'a\rb', tab: 'a\tb', nul: 'a\u0000b', esc: '\u001b[31m', del: 'a\u007fb', ls: 'a\u2028b', ps: 'a\u2029b', mixed: 'x "y"\n' },
    'control',
    String.raw` msg=control nl="a\nb" cr="a\rb" tab="a\tb" nul="a\u0000b" esc="\u001b[31m" del="a` +
      '\u007f' +
      'b" ls="a\u2028b" ps="a\u2029b" mixed=' +
      String.raw`"x \"y\"\n"`,
    String.raw`,"msg":"control","nl":"a\nb","cr":"a\rb","tab":"a\tb","nul":"a\u0000b","esc":"\u001b[31m","del":"a` +
      '\u007f' +
      'b","ls":"a\u2028b","ps":"a\u2029b","mixed":' +
      String.raw`"x \"y\"\n"}`,
  ],
  [
    'a forged line inside a value stays one line',
    { alias: 'uplink\nts=x level=error msg=forged' },
    'renamed\nagain',
    String.raw` msg="renamed\nagain" alias="uplink\nts=x level=error msg=forged"`,
    String.raw`,"msg":"renamed\nagain","alias":"uplink\nts=x level=error msg=forged"}`,
  ],
  [
    'numbers, booleans, null; undefined, functions and symbols left out',
    { int: 3, neg: -7, float: 0.25, huge: 1e21, tiny: 1e-7, negzero: -0, nan: NaN, inf: Infinity, ninf: -Infinity, t: true, f: false, nul: null, undef: undefined, fn: () => 1, sym: Symbol('s') },
    'values',
    ' msg=values int=3 neg=-7 float=0.25 huge=1e+21 tiny=1e-7 negzero=0 nan=null inf=null ninf=null t=true f=false nul=null',
    ',"msg":"values","int":3,"neg":-7,"float":0.25,"huge":1e+21,"tiny":1e-7,"negzero":0,"nan":null,"inf":null,"ninf":null,"t":true,"f":false,"nul":null}',
  ],
  [
    'objects and arrays as JSON, a Date as its ISO string',
    { counts: { a: 1, b: 'x y' }, list: [1, 'a', null, undefined], when: new Date(T0), empty: {}, map: new Map([[1, 2]]) },
    'objects',
    String.raw` msg=objects counts="{\"a\":1,\"b\":\"x y\"}" list="[1,\"a\",null,null]" when=2026-01-02T03:04:05.678Z empty={} map={}`,
    ',"msg":"objects","counts":{"a":1,"b":"x y"},"list":[1,"a",null,null],"when":"2026-01-02T03:04:05.678Z","empty":{},"map":{}}',
  ],
  [
    'a cycle is [Circular]',
    { c: circular },
    'circular',
    String.raw` msg=circular c="{\"a\":1,\"self\":\"[Circular]\"}"`,
    ',"msg":"circular","c":{"a":1,"self":"[Circular]"}}',
  ],
  [
    'logfmt keys keep [A-Za-z0-9_.:-], any other UTF-16 unit is _; JSON keys are escaped',
    { 'bad key': 1, 'k=v': 2, '': 3, ü: 4, 'a.b:c-d_e': 5, '"q"': 6, '😀': 7 },
    'keys',
    ' msg=keys bad_key=1 k_v=2 _=3 _=4 a.b:c-d_e=5 _q_=6 __=7',
    String.raw`,"msg":"keys","bad key":1,"k=v":2,"":3,"ü":4,"a.b:c-d_e":5,"\"q\"":6,"😀":7}`,
  ],
  [
    'a lone surrogate: raw in logfmt, escaped in JSON',
    { s: 'a\ud800b' },
    'surrogate',
    ' msg=surrogate s=a\ud800b',
    String.raw`,"msg":"surrogate","s":"a\ud800b"}`,
  ],
  ['no msg: no msg key', { a: 1 }, undefined, ' a=1', ',"a":1}'],
  ['an empty msg', { a: 1 }, '', ' msg="" a=1', ',"msg":"","a":1}'],
  ['msg from a field when none is given', { msg: 'from field', a: 1 }, undefined, ' msg="from field" a=1', ',"msg":"from field","a":1}'],
  // Changed from pino: fields named ts or level used to replace the real ones (a forged level).
  [
    'fields named ts, level, msg never forge the real ones',
    { ts: 'forged', level: 'error', msg: 'field', a: 1 },
    'real',
    ' msg=real a=1',
    ',"msg":"real","a":1}',
  ],
  // Changed from pino: it wrote an Error under `err` as {type, message, stack} in JSON and any
  // other Error as {}; now an Error is its message wherever it is, as go-kit logs it.
  [
    'an Error is its message, in both formats and nested too',
    { err: new Error('recv failed: "ENOBUFS"'), cause: new TypeError('bad\nthing'), nested: { inner: new Error('deep') } },
    'errors',
    String.raw` msg=errors err="recv failed: \"ENOBUFS\"" cause="bad\nthing" nested="{\"inner\":\"deep\"}"`,
    String.raw`,"msg":"errors","err":"recv failed: \"ENOBUFS\"","cause":"bad\nthing","nested":{"inner":"deep"}}`,
  ],
  // Changed from pino: it went through a JSON number and lost digits (…567000).
  ['a bigint keeps every digit', { n: 12345678901234567890n }, 'bigint', ' msg=bigint n=12345678901234567890', ',"msg":"bigint","n":12345678901234567890}'],
];

for (const [name, fields, msg, logfmtRest, jsonRest] of SHAPES) {
  test(`logfmt, byte for byte: ${name}`, () => {
    const line = oneLine('logfmt', (l) => (msg === undefined ? l.info(fields) : l.info(fields, msg)));
    assert.equal(line, `ts=${TS} level=info${logfmtRest}\n`);
  });
  test(`json, byte for byte: ${name}`, () => {
    const line = oneLine('json', (l) => (msg === undefined ? l.info(fields) : l.info(fields, msg)));
    assert.equal(line, `{"ts":"${TS}","level":"info"${jsonRest}\n`);
    if (!name.includes('surrogate') && !name.includes('bigint')) assert.equal(line, JSON.stringify(JSON.parse(line)) + '\n', 'valid JSON, as JSON.stringify writes it');
  });
}

test('every level writes its name; the (msg) form', () => {
  for (const format of ['logfmt', 'json'] as const) {
    const { lines, logger } = capture({ level: 'debug', format, now: () => T0 });
    logger.debug('d d');
    logger.info('i');
    logger.warn('w');
    logger.error('e');
    assert.deepEqual(
      lines,
      format === 'logfmt'
        ? [`ts=${TS} level=debug msg="d d"\n`, `ts=${TS} level=info msg=i\n`, `ts=${TS} level=warn msg=w\n`, `ts=${TS} level=error msg=e\n`]
        : [
            `{"ts":"${TS}","level":"debug","msg":"d d"}\n`,
            `{"ts":"${TS}","level":"info","msg":"i"}\n`,
            `{"ts":"${TS}","level":"warn","msg":"w"}\n`,
            `{"ts":"${TS}","level":"error","msg":"e"}\n`,
          ],
    );
  }
});

test('ts follows the clock, to the millisecond', () => {
  let clock = T0;
  const { lines, logger } = capture({ level: 'info', format: 'logfmt', now: () => clock });
  logger.info('a');
  logger.info('b');
  clock += 1;
  logger.info('c');
  clock = Date.UTC(1999, 11, 31, 23, 59, 59, 999);
  logger.info('d');
  assert.deepEqual(
    lines.map((l) => l.slice(3, 27)),
    [TS, TS, '2026-01-02T03:04:05.679Z', '1999-12-31T23:59:59.999Z'],
  );
});

test('child: bindings after msg, a field of the same key wins in place, grandchildren add theirs', () => {
  const { lines, logger } = capture({ level: 'debug', format: 'logfmt', now: () => T0 });
  const child = logger.child({ component: 'monitor', d: 'child', gone: undefined });
  child.warn({ d: 'field', x: 1, undef: undefined }, 'dup');
  child.child({ y: 2 }).error('grandchild');
  child.info({ d: undefined }, 'undefined does not override');
  logger.info('parent unchanged');
  assert.deepEqual(lines, [
    `ts=${TS} level=warn msg=dup component=monitor d=field x=1\n`,
    `ts=${TS} level=error msg=grandchild component=monitor d=child y=2\n`,
    `ts=${TS} level=info msg="undefined does not override" component=monitor d=child\n`,
    `ts=${TS} level=info msg="parent unchanged"\n`,
  ]);
  const json = oneLine('json', (l) => l.child({ component: 'web' }).info({ a: 1 }, 'x'));
  assert.equal(json, `{"ts":"${TS}","level":"info","msg":"x","component":"web","a":1}\n`);
});

test('an Error as the only argument: msg is its message, err too', () => {
  const line = oneLine('logfmt', (l) => l.error(new Error('socket closed') as unknown as Record<string, unknown>));
  assert.equal(line, `ts=${TS} level=error msg="socket closed" err="socket closed"\n`);
});

const LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];

for (const level of LEVELS) {
  test(`level filtering at ${level}`, () => {
    const { lines, logger } = capture({ level, format: 'json', now: () => T0 });
    assert.equal(logger.level, level);
    for (const l of LEVELS) logger[l]({ l }, l);
    const expected = LEVELS.slice(LEVELS.indexOf(level));
    assert.deepEqual(
      lines.map((l) => (JSON.parse(l) as { level: string }).level),
      expected,
    );
    assert.deepEqual(
      LEVELS.filter((l) => logger.isLevelEnabled(l)),
      expected,
    );
    assert.deepEqual(
      LEVELS.filter((l) => logger.child({ c: 1 }).isLevelEnabled(l)),
      expected,
      'a child has its parent level',
    );
  });
}

test('a disabled level touches neither its fields nor the destination nor the clock', () => {
  let touched = 0;
  const fields = new Proxy<Record<string, unknown>>(
    { device: 'eth0' },
    {
      get: (t, k) => ((touched += 1), Reflect.get(t, k)),
      has: (t, k) => ((touched += 1), Reflect.has(t, k)),
      ownKeys: (t) => ((touched += 1), Reflect.ownKeys(t)),
      getOwnPropertyDescriptor: (t, k) => ((touched += 1), Reflect.getOwnPropertyDescriptor(t, k)),
    },
  );
  let clockReads = 0;
  const { lines, logger } = capture({ level: 'warn', format: 'logfmt', now: () => (clockReads += 1, T0) });
  logger.debug(fields, 'd');
  logger.info(fields, 'i');
  logger.child({ c: 1 }).info(fields, 'i');
  assert.equal(touched, 0);
  assert.equal(clockReads, 0);
  assert.deepEqual(lines, []);
  logger.warn(fields, 'w');
  assert.ok(touched > 0, 'an enabled level reads them (the probe works)');
  assert.equal(lines.length, 1);
});

// ---------------------------------------------------------------------------------------------
// The bounded asynchronous writer.

async function until(cond: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!cond()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Runs `body` with a fresh file open for writing (its descriptor and path), closed and removed after. */
async function withLogFile(body: (fd: number, path: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'logger-test-'));
  const path = join(dir, 'log');
  const fd = openSync(path, 'w');
  try {
    await body(fd, path);
  } finally {
    closeSync(fd);
    rmSync(dir, { recursive: true, force: true });
  }
}

test('FdLineWriter: a line that would pass the bound is dropped and counted; room comes back once written', () =>
  withLogFile(async (fd, path) => {
    const writer = new FdLineWriter(fd, { maxBufferedBytes: 30 });
    const logger = createLogger({ level: 'info', format: 'logfmt', destination: writer });
    writer.write('0123456789\n'); // 11
    writer.write('é123456789\n'); // 12 bytes (é is two), 23
    writer.write('01234567\n'); // 9 → 32 > 30: dropped
    writer.write('0123456\n'); // 8 → 31: dropped
    writer.write('012345\n'); // 7 → exactly 30: kept
    assert.equal(writer.bufferedBytes, 30);
    assert.equal(writer.droppedLines, 2);
    assert.equal(logger.droppedLines, 2, 'the logger reports its writer count');
    assert.equal(readFileSync(path, 'utf8'), '', 'nothing is written synchronously');
    await until(() => writer.bufferedBytes === 0, 'the queue to drain');
    writer.write('again\n');
    await until(() => writer.bufferedBytes === 0, 'the queue to drain');
    assert.equal(readFileSync(path, 'utf8'), '0123456789\né123456789\n012345\nagain\n');
    assert.equal(writer.droppedLines, 2);
  }));

test('FdLineWriter: lines go out a buffer at a time, LINGER_MS late at most, every byte once and in order', () =>
  withLogFile(async (fd, path) => {
    const calls: number[] = []; // bytes asked of each writev
    const countingWritev = (f: number, buffers: readonly NodeJS.ArrayBufferView[], position: number | null, cb: (err: NodeJS.ErrnoException | null, bytes: number) => void): void => {
      calls.push(buffers.reduce((n, b) => n + b.byteLength, 0));
      writev(f, buffers, position, cb);
    };
    const writer = new FdLineWriter(fd, { writev: countingWritev });
    // A few lines, the last a few turns of the event loop ago: one write, about 20 ms after the first.
    const t0 = Date.now();
    for (let i = 0; i < 5; i++) writer.write(`line ${i}\n`);
    for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
    if (Date.now() - t0 < 15) assert.equal(calls.length, 0, 'a few short lines wait for more');
    await until(() => writer.bufferedBytes === 0, 'the lines to be written');
    assert.ok(Date.now() - t0 >= 15, 'written after the linger');
    assert.deepEqual(calls, [35], 'the five lines in one write');
    // A storm's worth in one turn: written at the next turn, not after the linger, in writes of
    // at least a buffer (64 KiB) each; then a line longer than a buffer, kept whole.
    calls.length = 0;
    let expected = readFileSync(path, 'utf8');
    for (let i = 0; i < 20_000; i++) {
      const line = `ts=x level=info msg="carrier changed" device=péer${i} changes=${i}\n`;
      writer.write(line);
      expected += line;
    }
    const long = 'x'.repeat(100_000) + '\n';
    writer.write(long);
    expected += long;
    await new Promise((r) => setImmediate(r));
    assert.equal(calls.length, 1, 'the first write starts at the next turn');
    await until(() => writer.bufferedBytes === 0, 'the storm to be written');
    assert.ok(calls.slice(0, -1).every((bytes) => bytes >= 64 * 1024 - 200), `writes of a buffer or more: ${calls.join(', ')}`);
    assert.ok(calls.length <= 6, `${calls.length} writes for 1.4 MB`);
    assert.equal(readFileSync(path, 'utf8'), expected);
    // The buffers are reused: later lines do not overwrite what is being written.
    for (let i = 0; i < 3_000; i++) {
      const line = `again ${i} ${'y'.repeat(i % 97)}\n`;
      writer.write(line);
      expected += line;
      if (i % 500 === 0) await new Promise((r) => setImmediate(r));
    }
    await until(() => writer.bufferedBytes === 0, 'the rest to be written');
    assert.equal(readFileSync(path, 'utf8'), expected);
  }));

test('FdLineWriter: long lines share a buffer as far as their bytes (not their worst case) allow', () =>
  withLogFile(async (fd, path) => {
    const writes: number[][] = []; // the buffers' sizes of each writev
    const writer = new FdLineWriter(fd, {
      writev: (f, buffers, position, cb) => {
        writes.push(buffers.map((b) => b.byteLength));
        writev(f, buffers, position, cb);
      },
    });
    // 15,000 ASCII characters: 45,000 bytes at 3 a unit, more than a buffer has left after the
    // first line; 15,001 bytes in fact, and four of them fit in one 64 KiB buffer.
    const line = 'z'.repeat(15_000) + '\n';
    for (let i = 0; i < 4; i++) writer.write(line);
    assert.equal(writer.bufferedBytes, 4 * 15_001);
    await until(() => writer.bufferedBytes === 0, 'the lines to be written');
    assert.deepEqual(writes, [[4 * 15_001]]);
    assert.equal(readFileSync(path, 'utf8'), line.repeat(4));
  }));

test('a custom destination reports no drops', () => {
  assert.equal(capture({ level: 'info', format: 'json' }).logger.droppedLines, 0);
});

interface Child {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs `body` as an ES module in a child node with `createLogger` in scope and stderr a pipe.
 * holdStderr: the parent does not read stderr until the child writes a line on stdout.
 */
function runChild(body: string, opts: { holdStderr?: boolean; closeStderr?: boolean; delayReadMs?: number } = {}): Promise<Child> {
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
    } else if (opts.delayReadMs !== undefined) {
      child.stderr.pause();
      setTimeout(readStderr, opts.delayReadMs);
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
  const r = await runChild(`${CHILD_STORM(n)}\nprocess.exit(0);`, { delayReadMs: 100 });
  assert.equal(r.code, 0);
  const expected = Array.from({ length: n }, (_, i) => seqLine(i)).join('');
  assert.equal(r.stderr.length, expected.length);
  assert.ok(r.stderr === expected, 'every line, byte for byte, in order');
});

test('stderr: the exit flush also waits out EAGAIN when stderr is non-blocking', async () => {
  const n = 20_000;
  // Touching process.stderr makes Node set O_NONBLOCK on a pipe: writeSync then gets EAGAIN.
  const r = await runChild(
    `process.stderr; const flags = (await import('node:fs')).readFileSync('/proc/self/fdinfo/2', 'utf8');
     process.stdout.write(/flags:\\s*(\\d+)/.exec(flags)[1] + '\\n');
     ${CHILD_STORM(n)}\nprocess.exit(0);`,
    { delayReadMs: 150 },
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
     const { FdLineWriter } = await import(${JSON.stringify(LOGGER_URL)});
     const writer = new FdLineWriter(2); // not the shared one: no exit flush, only the asynchronous path
     for (let i = 0; i < ${n}; i += 1) {
       writer.write(\`ts=${TS} level=info msg=storm seq=\${String(i).padStart(7, '0')} pad=${'x'.repeat(40)}\\n\`);
       if (i % 1000 === 999) await new Promise((r) => setImmediate(r));
     }
     const iv = setInterval(() => {
       if (writer.bufferedBytes > 0) return;
       clearInterval(iv);
       process.stdout.write(JSON.stringify({ dropped: writer.droppedLines }) + '\\n');
       process.exit(0);
     }, 5);`,
    { delayReadMs: 150 },
  );
  assert.equal(r.code, 0);
  assert.deepEqual(JSON.parse(r.stdout), { dropped: 0 });
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

// ---------------------------------------------------------------------------------------------

test('rateLimited: first event at once, then one line per interval carrying the suppressed count', () => {
  let clock = 1_000;
  const { lines, logger } = capture({ level: 'info', format: 'json', now: () => clock });
  const limited = rateLimited(logger, 10_000, { now: () => clock });
  const records = (): Array<Record<string, unknown>> => lines.map((l) => JSON.parse(l) as Record<string, unknown>);

  limited.log('dropped message', { reason: 'sender' });
  assert.equal(lines.length, 1);
  assert.equal(lines[0], `{"ts":"${new Date(1_000).toISOString()}","level":"warn","msg":"dropped message","reason":"sender"}\n`);

  for (let i = 0; i < 5; i += 1) {
    clock += 1_000;
    limited.log('dropped message', { reason: 'sender' });
  }
  assert.equal(lines.length, 1, 'suppressed inside the interval');

  clock = 11_000; // exactly one interval after the first line
  limited.log('dropped message', { reason: 'sender' });
  assert.equal(lines.length, 2);
  assert.equal(lines[1], `{"ts":"${new Date(11_000).toISOString()}","level":"warn","msg":"dropped message","reason":"sender","suppressed":5}\n`);

  clock = 12_000;
  limited.log('dropped message');
  clock = 30_000;
  limited.log('dropped message');
  assert.equal(lines.length, 3);
  assert.equal(records()[2]?.['suppressed'], 1);

  clock = 100_000;
  limited.log('dropped message');
  assert.equal(lines.length, 4);
  assert.equal(records()[3]?.['suppressed'], undefined, 'no count when nothing was suppressed');

  clock = 50_000; // the clock went back: log at once rather than wait
  limited.log('dropped message');
  assert.equal(lines.length, 5);
});

test('rateLimited: messages are limited independently; flush writes pending counts', () => {
  let clock = 0;
  const { lines, logger } = capture({ level: 'debug', format: 'json', now: () => clock });
  const limited = rateLimited(logger, 1_000, { now: () => clock, level: 'info' });
  limited.log('a');
  limited.log('b');
  limited.log('a');
  limited.log('a', { last: true });
  clock = 10;
  limited.log('b');
  assert.deepEqual(
    lines.map((l) => JSON.parse(l) as Record<string, unknown>).map((r) => [r['level'], r['msg']]),
    [
      ['info', 'a'],
      ['info', 'b'],
    ],
  );
  limited.flush();
  const flushed = lines.slice(2).map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.deepEqual(flushed, [
    { ts: new Date(10).toISOString(), level: 'info', msg: 'a', last: true, suppressed: 2 },
    { ts: new Date(10).toISOString(), level: 'info', msg: 'b', suppressed: 1 },
  ]);
  limited.flush();
  assert.equal(lines.length, 4, 'a second flush has nothing to write');
});

test('rateLimited: at a disabled level nothing is logged, counted or read', () => {
  let clockReads = 0;
  const { lines, logger } = capture({ level: 'error', format: 'json' });
  const limited = rateLimited(logger, 1_000, { now: () => (clockReads += 1) });
  limited.log('x');
  limited.log('x');
  limited.flush();
  assert.deepEqual(lines, []);
  assert.equal(clockReads, 0);
});

test('rateLimited: no timer is left running', () => {
  const { logger } = capture({ level: 'info', format: 'json' });
  const limited = rateLimited(logger, 60_000);
  const before = process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
  limited.log('x');
  limited.log('x');
  const after = process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
  assert.equal(after, before);
});
