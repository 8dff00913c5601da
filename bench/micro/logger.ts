// Micro benchmark of the log line the exporter writes per carrier change, in process, nothing
// else running. Not part of `npm run bench` or `npm test`.
//
//   node dist/bench/micro/logger.js [--lines 200000] [--runs 7] [--module PATH] [--stderr]
//
// ns per `logger.info({ device, from, to, changes }, 'carrier changed')` at --log.level=info,
// logfmt and JSON, into a destination that drops the line (the cost of formatting), and a
// `debug` line at info (a disabled level). CPU time of the process (process.cpuUsage: GC threads
// count too), not wall time, so that a busy machine inflates the figures less. With --stderr, one more variant: the default
// destination (stderr, asynchronous), lines logged 100 per turn of the event loop as a storm
// does, CPU time of the whole process (threads too) until every line is written; run it with
// 2>/dev/null or 2>file. --module loads another logger with the same createLogger API (to
// compare with an older build). Median of the runs.
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';

interface BenchLogger {
  info(fields: Record<string, unknown>, msg: string): void;
  debug(fields: Record<string, unknown>, msg: string): void;
  isLevelEnabled?(level: string): boolean;
}
type Create = (o: { level: string; format: string; destination?: { write(l: string): unknown } }) => BenchLogger;

function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? fallback : (process.argv[i + 1] ?? fallback);
}

const LINES = Number(option('lines', '200000'));
const RUNS = Number(option('runs', '7'));
const modulePath = option('module', '');
const { createLogger } = (await import(
  modulePath === '' ? '../../src/runtime/logger.js' : pathToFileURL(resolve(modulePath)).href
)) as { createLogger: Create };

const DEVICES = Array.from({ length: 1000 }, (_, i) => `lnk${i}`);
let changes = 0;

function carrierChanged(logger: BenchLogger, i: number): void {
  const device = DEVICES[i % DEVICES.length] as string;
  changes += 1;
  logger.info({ device, from: i & 1 ? 'up' : 'down', to: i & 1 ? 'down' : 'up', changes }, 'carrier changed');
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

function timeNs(body: () => void, lines: number): number {
  const samples: number[] = [];
  for (let r = 0; r < RUNS + 1; r += 1) {
    const c0 = process.cpuUsage();
    body();
    const c = process.cpuUsage(c0);
    const ns = ((c.user + c.system) * 1000) / lines;
    if (r > 0) samples.push(ns); // the first run is warm-up
  }
  return median(samples);
}

const sink = { bytes: 0, write(line: string): void { this.bytes += line.length; } };
const out: Record<string, number> = {};
for (const format of ['logfmt', 'json']) {
  const logger = createLogger({ level: 'info', format, destination: sink });
  out[`${format} info line, discarding destination (ns)`] = timeNs(() => {
    for (let i = 0; i < LINES; i += 1) carrierChanged(logger, i);
  }, LINES);
}
{
  const logger = createLogger({ level: 'info', format: 'logfmt', destination: sink });
  out['debug line at info (ns)'] = timeNs(() => {
    for (let i = 0; i < LINES * 10; i += 1) logger.debug({ device: DEVICES[i % 1000], ifindex: i }, 'link added');
  }, LINES * 10);
  if (typeof logger.isLevelEnabled === 'function') {
    out['debug line at info behind isLevelEnabled (ns)'] = timeNs(() => {
      for (let i = 0; i < LINES * 10; i += 1) {
        if (logger.isLevelEnabled?.('debug')) logger.debug({ device: DEVICES[i % 1000], ifindex: i }, 'link added');
      }
    }, LINES * 10);
  }
}

if (process.argv.includes('--stderr')) {
  const logger = createLogger({ level: 'info', format: 'logfmt' });
  const start = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  let i = 0;
  const turn = (): void => {
    for (const end = Math.min(i + 100, LINES); i < end; i += 1) carrierChanged(logger, i);
    if (i < LINES) setImmediate(turn);
  };
  turn();
  process.once('beforeExit', () => {
    const cpu = process.cpuUsage(start);
    out['logfmt info line to stderr, whole process CPU (ns)'] = ((cpu.user + cpu.system) * 1000) / LINES;
    out['logfmt info line to stderr, wall (ns)'] = Number(process.hrtime.bigint() - t0) / LINES;
    report();
  });
} else {
  report();
}

function report(): void {
  for (const [k, v] of Object.entries(out)) process.stdout.write(`${k.padEnd(52)} ${v.toFixed(1)}\n`);
}
