import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writev } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FdLineWriter, LINGER_MS, type WritevFn } from '../../src/runtime/fd-line-writer.js';
import { createLogger, rateLimited, type Logger, type LoggerOptions } from '../../src/runtime/logger.js';
import type { LogLevel } from '../../src/cli/config.js';
import { ManualClock } from '../helpers/manual-clock.js';

const T0 = Date.UTC(2026, 0, 2, 3, 4, 5, 678);
const TS = '2026-01-02T03:04:05.678Z';

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
  // A field named ts or level must never replace the real one (it would forge a level).
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

const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

/**
 * fs.writev, watched, and the writer's timers on a ManualClock: a test waits for the writes
 * themselves (real I/O in the thread pool), and the linger passes when the test says so.
 * `record` sees each writev's buffers.
 */
function watchedWriter(fd: number, record: (buffers: readonly NodeJS.ArrayBufferView[]) => void = () => undefined, maxBufferedBytes?: number) {
  const clock = new ManualClock();
  let inFlight = 0;
  let wake: (() => void) | undefined;
  const watched: WritevFn = (f, buffers, position, cb) => {
    record(buffers);
    inFlight += 1;
    writev(f, buffers, position, (err, bytes) => {
      inFlight -= 1;
      cb(err, bytes);
      wake?.();
    });
  };
  const writer = new FdLineWriter(fd, { writev: watched, clock, ...(maxBufferedBytes === undefined ? {} : { maxBufferedBytes }) });
  /** Waits until every accepted byte is written; a tail short of a buffer is let linger LINGER_MS. */
  const drained = async (what: string): Promise<void> => {
    while (writer.bufferedBytes > 0) {
      if (inFlight > 0) {
        await new Promise<void>((r) => (wake = r));
        continue;
      }
      await turn(); // a buffer's worth is written from the next turn
      if (inFlight > 0 || writer.bufferedBytes === 0) continue;
      if (clock.pending === 0) assert.fail(`${what}: ${writer.bufferedBytes} bytes queued, and no write nor linger due`);
      clock.advance(LINGER_MS);
    }
  };
  return { writer, clock, drained };
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
    const { writer, drained } = watchedWriter(fd, undefined, 30);
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
    await drained('the queue to drain');
    writer.write('again\n');
    await drained('the queue to drain');
    assert.equal(readFileSync(path, 'utf8'), '0123456789\né123456789\n012345\nagain\n');
    assert.equal(writer.droppedLines, 2);
  }));

test('FdLineWriter: lines go out a buffer at a time, LINGER_MS late at most, every byte once and in order', () =>
  withLogFile(async (fd, path) => {
    const calls: number[] = []; // bytes asked of each writev
    const { writer, clock, drained } = watchedWriter(fd, (buffers) => calls.push(buffers.reduce((n, b) => n + b.byteLength, 0)));
    // A few lines, the last a few turns of the event loop ago: one write, LINGER_MS after the first.
    for (let i = 0; i < 5; i++) writer.write(`line ${i}\n`);
    for (let i = 0; i < 3; i++) await turn();
    assert.equal(calls.length, 0, 'a few short lines wait for more');
    clock.advance(LINGER_MS - 1);
    assert.equal(calls.length, 0, 'not before LINGER_MS');
    clock.advance(1);
    assert.equal(calls.length, 1, 'written after the linger');
    await drained('the lines to be written');
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
    await turn();
    assert.equal(calls.length, 1, 'the first write starts at the next turn');
    await drained('the storm to be written');
    assert.ok(calls.slice(0, -1).every((bytes) => bytes >= 64 * 1024 - 200), `writes of a buffer or more: ${calls.join(', ')}`);
    assert.ok(calls.length <= 6, `${calls.length} writes for 1.4 MB`);
    assert.equal(readFileSync(path, 'utf8'), expected);
    // The buffers are reused: later lines do not overwrite what is being written.
    for (let i = 0; i < 3_000; i++) {
      const line = `again ${i} ${'y'.repeat(i % 97)}\n`;
      writer.write(line);
      expected += line;
      if (i % 500 === 0) await turn();
    }
    await drained('the rest to be written');
    assert.equal(readFileSync(path, 'utf8'), expected);
  }));

test('FdLineWriter: long lines share a buffer as far as their bytes (not their worst case) allow', () =>
  withLogFile(async (fd, path) => {
    const writes: number[][] = []; // the buffers' sizes of each writev
    const { writer, drained } = watchedWriter(fd, (buffers) => writes.push(buffers.map((b) => b.byteLength)));
    // 15,000 ASCII characters: 45,000 bytes at 3 a unit, more than a buffer has left after the
    // first line; 15,001 bytes in fact, and four of them fit in one 64 KiB buffer.
    const line = 'z'.repeat(15_000) + '\n';
    for (let i = 0; i < 4; i++) writer.write(line);
    assert.equal(writer.bufferedBytes, 4 * 15_001);
    await drained('the lines to be written');
    assert.deepEqual(writes, [[4 * 15_001]]);
    assert.equal(readFileSync(path, 'utf8'), line.repeat(4));
  }));

test('a custom destination reports no drops', () => {
  assert.equal(capture({ level: 'info', format: 'json' }).logger.droppedLines, 0);
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
