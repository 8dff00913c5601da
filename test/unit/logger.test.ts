import { test } from 'node:test';
import assert from 'node:assert/strict';
import logfmt from 'logfmt';
import { createLogger, rateLimited, type LoggerOptions } from '../../src/logger.js';

const T0 = Date.UTC(2026, 0, 2, 3, 4, 5, 678);

function capture(opts: Omit<LoggerOptions, 'destination'>): { lines: string[]; logger: ReturnType<typeof createLogger> } {
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

test('logfmt: ts, level, msg first, then fields, one line each', () => {
  const { lines, logger } = capture({ level: 'info', format: 'logfmt', now: () => T0 });
  logger.info({ device: 'eth0', ifindex: 3, up: true }, 'link down');
  assert.deepEqual(lines, ['ts=2026-01-02T03:04:05.678Z level=info msg="link down" device=eth0 ifindex=3 up=true\n']);
});

test('logfmt: child bindings, quoting, errors and nested objects', () => {
  const { lines, logger } = capture({ level: 'debug', format: 'logfmt', now: () => T0 });
  logger.child({ component: 'monitor' }).warn({ err: new Error('recv failed: "ENOBUFS"'), counts: { a: 1 } }, 'a=b');
  assert.equal(lines.length, 1);
  const line = lines[0] ?? '';
  assert.ok(line.startsWith('ts=2026-01-02T03:04:05.678Z level=warn msg="a=b" '), line);
  const parsed = logfmt.parse(line.trimEnd());
  assert.equal(parsed['component'], 'monitor');
  assert.equal(parsed['err'], 'recv failed: "ENOBUFS"', 'errors are logged by message, no stack');
  assert.equal(parsed['counts'], '{"a":1}');
  assert.ok(!line.includes('at '), 'no stack trace frames');
});

test('logfmt: a newline in a value never splits the line', () => {
  const { lines, logger } = capture({ level: 'info', format: 'logfmt', now: () => T0 });
  logger.info({ alias: 'uplink\nlevel=error msg=forged' }, 'renamed');
  assert.equal(lines.length, 1);
  const line = lines[0] ?? '';
  assert.equal(line.indexOf('\n'), line.length - 1, 'only the terminating newline');
  assert.match(line, / alias="uplink\\nlevel=error msg=forged"\n$/);
});

test('json: same keys, ts/level/msg first', () => {
  const { lines, logger } = capture({ level: 'info', format: 'json', now: () => T0 });
  logger.error({ device: 'veth0', n: 2 }, 'boom');
  assert.equal(lines.length, 1);
  const line = lines[0] ?? '';
  assert.ok(line.endsWith('\n'));
  const record = JSON.parse(line) as Record<string, unknown>;
  assert.deepEqual(Object.keys(record), ['ts', 'level', 'msg', 'device', 'n']);
  assert.deepEqual(record, { ts: '2026-01-02T03:04:05.678Z', level: 'error', msg: 'boom', device: 'veth0', n: 2 });
});

for (const [level, expected] of [
  ['debug', ['debug', 'info', 'warn', 'error']],
  ['info', ['info', 'warn', 'error']],
  ['warn', ['warn', 'error']],
  ['error', ['error']],
] as const) {
  test(`level filtering at ${level}`, () => {
    const { lines, logger } = capture({ level, format: 'json', now: () => T0 });
    logger.debug('d');
    logger.info('i');
    logger.warn('w');
    logger.error('e');
    assert.deepEqual(
      lines.map((l) => (JSON.parse(l) as { level: string }).level),
      expected,
    );
  });
}

test('rateLimited: first event at once, then one line per interval carrying the suppressed count', () => {
  let clock = 1_000;
  const { lines, logger } = capture({ level: 'info', format: 'json', now: () => clock });
  const limited = rateLimited(logger, 10_000, { now: () => clock });
  const records = (): Array<Record<string, unknown>> => lines.map((l) => JSON.parse(l) as Record<string, unknown>);

  limited.log('dropped message', { reason: 'sender' });
  assert.equal(lines.length, 1);
  assert.deepEqual(records()[0], { ts: new Date(1_000).toISOString(), level: 'warn', msg: 'dropped message', reason: 'sender' });

  for (let i = 0; i < 5; i += 1) {
    clock += 1_000;
    limited.log('dropped message', { reason: 'sender' });
  }
  assert.equal(lines.length, 1, 'suppressed inside the interval');

  clock = 11_000; // exactly one interval after the first line
  limited.log('dropped message', { reason: 'sender' });
  assert.equal(lines.length, 2);
  assert.equal(records()[1]?.['suppressed'], 5);

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
});

test('rateLimited: messages are limited independently; flush writes pending counts', () => {
  let clock = 0;
  const { lines, logger } = capture({ level: 'debug', format: 'json', now: () => clock });
  const limited = rateLimited(logger, 1_000, { now: () => clock, level: 'info' });
  limited.log('a');
  limited.log('b');
  limited.log('a');
  limited.log('a');
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
  assert.deepEqual(
    flushed.map((r) => [r['msg'], r['suppressed']]),
    [
      ['a', 2],
      ['b', 1],
    ],
  );
  limited.flush();
  assert.equal(lines.length, 4, 'a second flush has nothing to write');
});

test('rateLimited: no timer is left running', async () => {
  const { logger } = capture({ level: 'info', format: 'json' });
  const limited = rateLimited(logger, 60_000);
  const before = process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
  limited.log('x');
  limited.log('x');
  const after = process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
  assert.equal(after, before);
});
