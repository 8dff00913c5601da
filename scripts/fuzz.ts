// The long fuzz run (`npm run fuzz`): property-based, over random bytes, mutations of the kernel
// datagrams recorded in test/fixtures/netlink/*.bin (alone and concatenated, as a dump packs
// them), mutations of built datagrams and attribute soup. The decoder may only decode or raise
// NetlinkDecodeError. The same inputs also go through the whole receive pipeline (LinkMonitor
// over a FakeSocket, then the /metrics renderer): nothing may happen but counted drops.
//
//   npm run fuzz [-- --seconds S] [--runs N] [--seed N] [--only NAME]
//
// --seconds: time per property (default 20; 0 = no time limit); --runs: runs per property
// (default: as many as fit in the time); --seed: replay a failure fast-check reported.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import fc from 'fast-check';
import { NETLINK_DECODE_REASONS, NetlinkDecodeError } from '../src/netlink/errors.js';
import { LinkTable } from '../src/links/table.js';
import { createLogger } from '../src/runtime/logger.js';
import { ExporterMetrics } from '../src/metrics/exporter-metrics.js';
import { LINK_FAMILIES, LinkFamiliesRenderer } from '../src/metrics/link-families.js';
import { CarrierCauses } from '../src/links/carrier-causes.js';
import { LinkMonitor } from '../src/rtnetlink/link-monitor.js';
import { systemClock } from '../src/runtime/clock.js';
import { NLMSG_DONE, NLMSG_ERROR, NLM_F_MULTI } from '../src/netlink/constants.js';
import { AF_UNSPEC, RTM_DELLINK, RTM_NEWLINK } from '../src/rtnetlink/constants.js';
import { decodeLink } from '../src/rtnetlink/link.js';
import { decodeErrorMessage, decodeMessages } from '../src/netlink/message.js';
import type { ReceiveEvent } from '../src/netlink/socket.js';
import { FakeSocket } from '../test/helpers/fake-socket.js';
import {
  applyMutations,
  attributeSoupArb,
  datagramArb,
  mutatedDatagramArb,
  mutationArb,
} from '../test/helpers/netlink-arbitraries.js';
import { nlmsg } from '../test/helpers/netlink-bytes.js';

const FIXTURES = fileURLToPath(new URL('../../test/fixtures/netlink/', import.meta.url));

function loadFixtures(): Buffer[] {
  let names: string[];
  try {
    names = readdirSync(FIXTURES).filter((n) => n.endsWith('.bin')).sort();
  } catch {
    return [];
  }
  return names.map((n) => readFileSync(join(FIXTURES, n)));
}

// ---- the decoder alone ----------------------------------------------------------------------

/** What decoding a datagram the monitor's way gives: the counters it should move. */
interface Outcome {
  /** messages_total by type */
  readonly messages: Map<string, number>;
  /** dropped_total by reason */
  readonly dropped: Map<string, number>;
  /** ifindexes of AF_UNSPEC RTM_NEWLINK messages that decoded */
  readonly newLinks: Set<number>;
}

function bump(map: Map<string, number>, key: string): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}

/** Throws unless `e` is a NetlinkDecodeError that makes sense for `bytes`. */
function checkDecodeError(e: unknown, bytes: Buffer): NetlinkDecodeError {
  if (!(e instanceof NetlinkDecodeError)) throw e;
  if (!NETLINK_DECODE_REASONS.includes(e.reason)) throw new Error(`unknown reason ${e.reason}`);
  if (!Number.isInteger(e.offset) || e.offset < 0 || e.offset > bytes.length) throw new Error(`offset ${e.offset} of ${bytes.length}`);
  return e;
}

/**
 * Decodes a datagram as the monitor does (messages, then each link or error), adding what the
 * monitor should count to `into`. Anything thrown but a NetlinkDecodeError is a failure.
 */
function decodeAsMonitor(bytes: Buffer, into: Outcome): void {
  let messages;
  try {
    messages = decodeMessages(bytes);
  } catch (e) {
    bump(into.dropped, checkDecodeError(e, bytes).reason);
    return;
  }
  for (const msg of messages) {
    if (msg.offset % 4 !== 0 || msg.offset + 16 + msg.payload.length > bytes.length) throw new Error(`message at ${msg.offset} outside the datagram`);
    if (msg.type === RTM_NEWLINK || msg.type === RTM_DELLINK) {
      bump(into.messages, msg.type === RTM_NEWLINK ? 'newlink' : 'dellink');
      try {
        const link = decodeLink(msg);
        if (!Number.isInteger(link.ifindex) || !Number.isInteger(link.flags)) throw new Error('non-integer ifindex or flags');
        for (const s of [link.ifname, link.ifalias, link.infoKind]) if (s !== undefined && s.includes('\0')) throw new Error('NUL in a string');
        if (msg.type === RTM_NEWLINK && link.family === AF_UNSPEC) into.newLinks.add(link.ifindex);
      } catch (e) {
        bump(into.dropped, checkDecodeError(e, bytes).reason);
      }
    } else if (msg.type === NLMSG_ERROR) {
      bump(into.messages, 'error');
      try {
        decodeErrorMessage(msg);
      } catch (e) {
        bump(into.dropped, checkDecodeError(e, bytes).reason);
      }
    } else {
      bump(into.messages, msg.type === NLMSG_DONE ? 'done' : 'other');
    }
  }
}

function emptyOutcome(): Outcome {
  return { messages: new Map(), dropped: new Map(), newLinks: new Set() };
}

// ---- the pipeline: FakeSocket → LinkMonitor → LinkTable → renderer ----------------------------

async function counterValues(metrics: ExporterMetrics, name: string, label: string): Promise<Map<string, number>> {
  const metric = metrics.registry.getSingleMetric(name);
  if (!metric) throw new Error(`no metric ${name}`);
  const out = new Map<string, number>();
  for (const v of (await metric.get()).values) if (v.value !== 0) out.set(String(v.labels[label]), v.value);
  return out;
}

async function counterValue(metrics: ExporterMetrics, name: string): Promise<number> {
  const metric = metrics.registry.getSingleMetric(name);
  if (!metric) throw new Error(`no metric ${name}`);
  return (await metric.get()).values.reduce((sum, v) => sum + v.value, 0);
}

/**
 * One sample line of the text format, strictly: a metric name, labels whose values escape
 * backslash, double quote and line feed (and may hold any other character, U+2028 included),
 * a value. Group 1 is the name, group 2 the raw first label set.
 */
const LABEL_VALUE = String.raw`"(?:[^"\\\n]|\\[\\"n])*"`;
const LABEL = String.raw`[a-zA-Z_][a-zA-Z0-9_]*=${LABEL_VALUE}`;
const SAMPLE_LINE = new RegExp(String.raw`^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(?:device=(${LABEL_VALUE}))?(?:,?${LABEL})*\})? (?:[-+]?(?:[0-9.e+-]+|Inf)|NaN)$`, 'u');

function sameCounts(what: string, got: Map<string, number>, want: Map<string, number>): void {
  const keys = new Set([...got.keys(), ...want.keys()]);
  for (const k of keys) {
    if ((got.get(k) ?? 0) !== (want.get(k) ?? 0)) {
      throw new Error(`${what}{${k}}: monitor counted ${got.get(k) ?? 0}, decoder says ${want.get(k) ?? 0}`);
    }
  }
}

/**
 * Starts a monitor on a FakeSocket, completes its first dump with the given seed datagrams,
 * feeds it the events, and checks that it counted exactly what the decoder says it should have,
 * never threw, never gave up the socket, and that the table it built renders and parses.
 */
async function runPipeline(events: readonly ReceiveEvent[]): Promise<void> {
  const table = new LinkTable();
  // the loss accounting too: whatever the bytes say, it must count and render without throwing
  const causes = new CarrierCauses(systemClock);
  table.subscribe(causes.onChange);
  const renderer = new LinkFamiliesRenderer(table, {}, LINK_FAMILIES, causes.get);
  const metrics = new ExporterMetrics({ version: 'fuzz', revision: 'fuzz' }, () => renderer.exportedCount);
  // debug, into nothing: the log formatting of whatever names the bytes carry runs too
  const logger = createLogger({ level: 'debug', format: 'logfmt', destination: { write: () => undefined } });
  let socket: FakeSocket | undefined;
  let opens = 0;
  const monitor = new LinkMonitor({
    openSocket: () => {
      opens += 1;
      socket = new FakeSocket(4242);
      return socket;
    },
    table,
    metrics,
    logger,
    clock: { ...systemClock, now: () => 1_700_000_000_000 },
  });
  monitor.start();
  const s = socket!;
  const expected = emptyOutcome();
  const done = nlmsg({ type: NLMSG_DONE, flags: NLM_F_MULTI, seq: s.sentSeq(0), pid: s.portId }, Buffer.alloc(4));
  s.kernel(done);
  bump(expected.messages, 'done');
  if (!monitor.ready) throw new Error('not ready after the first dump');

  for (const event of events) {
    if (event.kind === 'datagram') {
      if (event.senderPid !== 0) bump(expected.dropped, 'foreign_sender');
      else if (event.truncated) bump(expected.dropped, 'truncated');
      else decodeAsMonitor(event.data, expected);
    }
    s.deliver(event); // must not throw
  }

  sameCounts('linkstate_exporter_netlink_dropped_total', await counterValues(metrics, 'linkstate_exporter_netlink_dropped_total', 'reason'), expected.dropped);
  sameCounts('linkstate_exporter_netlink_messages_total', await counterValues(metrics, 'linkstate_exporter_netlink_messages_total', 'type'), expected.messages);
  const overruns = events.filter((e) => e.kind === 'overrun').length;
  if ((await counterValue(metrics, 'linkstate_exporter_netlink_overruns_total')) !== overruns) throw new Error('overruns miscounted');
  if ((await counterValue(metrics, 'linkstate_exporter_netlink_socket_reopens_total')) !== 0 || opens !== 1 || s.closed) {
    throw new Error('the monitor gave up its socket');
  }
  if (!monitor.ready) throw new Error('no longer ready');
  for (const link of table.links()) {
    if (!expected.newLinks.has(link.ifindex)) throw new Error(`table holds ifindex ${link.ifindex}, never announced by a decodable RTM_NEWLINK`);
  }
  const text = Buffer.concat(renderer.pieces('prometheus', 1_700_000_000_000)).toString('utf8') + (await metrics.renderPrometheus());
  const devices = new Set<string>();
  const series = new Set<string>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('# HELP ') || line.startsWith('# TYPE ')) continue;
    const m = SAMPLE_LINE.exec(line);
    if (!m) throw new Error(`not a valid exposition line: ${JSON.stringify(line)}`);
    const key = line.slice(0, line.lastIndexOf(' '));
    if (series.has(key)) throw new Error(`duplicate series (Prometheus rejects the whole scrape): ${JSON.stringify(key)}`);
    series.add(key);
    if (m[1] === 'linkstate_up') devices.add(m[2] ?? '');
  }
  if (renderer.exportedCount !== table.size) throw new Error(`exported ${renderer.exportedCount} of ${table.size} links`);
  if (devices.size !== new Set([...table.links()].map((l) => l.name)).size) throw new Error(`${devices.size} devices rendered for ${table.size} links`);
  const om = Buffer.concat(renderer.pieces('openmetrics', 1_700_000_000_000)).toString('utf8') + (await metrics.renderOpenMetrics());
  if (!om.endsWith('# EOF\n')) throw new Error('OpenMetrics exposition without # EOF');
  await monitor.close();
}

// ---- arbitraries -----------------------------------------------------------------------------

function arbitraries(fixtures: readonly Buffer[]): {
  mutatedFixture: fc.Arbitrary<Buffer>;
  mutatedFixtureTrain: fc.Arbitrary<Buffer>;
  anyDatagram: fc.Arbitrary<Buffer>;
} {
  const mutations = fc.array(mutationArb, { minLength: 1, maxLength: 8 });
  const fixture = fixtures.length > 0 ? fc.constantFrom(...fixtures) : datagramArb.map((d) => d.bytes);
  const mutatedFixture = fc.tuple(fixture, mutations).map(([bytes, m]) => applyMutations(bytes, m));
  // several recorded datagrams in one, as a dump packs many messages per datagram
  const mutatedFixtureTrain = fc
    .tuple(fc.array(fixture, { minLength: 2, maxLength: 6 }), mutations)
    .map(([parts, m]) => applyMutations(Buffer.concat(parts), m));
  const anyDatagram = fc.oneof(
    { weight: 2, arbitrary: fixture },
    { weight: 2, arbitrary: datagramArb.map((d) => d.bytes) },
    { weight: 3, arbitrary: mutatedFixture },
    { weight: 1, arbitrary: mutatedFixtureTrain },
    { weight: 2, arbitrary: mutatedDatagramArb },
    { weight: 1, arbitrary: attributeSoupArb },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 512 }).map((b) => Buffer.from(b)) },
  );
  return { mutatedFixture, mutatedFixtureTrain, anyDatagram };
}

function eventArb(datagram: fc.Arbitrary<Buffer>): fc.Arbitrary<ReceiveEvent> {
  return fc.oneof(
    {
      weight: 20,
      arbitrary: fc.record({
        kind: fc.constant('datagram' as const),
        data: datagram,
        senderPid: fc.oneof({ weight: 12, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 0xffffffff }) }),
        truncated: fc.oneof({ weight: 15, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
      }),
    },
    { weight: 1, arbitrary: fc.constant<ReceiveEvent>({ kind: 'overrun' }) },
  );
}

// ---- main ------------------------------------------------------------------------------------

interface Property {
  readonly name: string;
  check(params: fc.Parameters<unknown>): Promise<fc.RunDetails<unknown>>;
}

function syncProperty<T>(name: string, arb: fc.Arbitrary<T>, predicate: (value: T) => void): Property {
  return {
    name,
    check: async (params) => fc.check(fc.property(arb, predicate), params as fc.Parameters<[T]>) as fc.RunDetails<unknown>,
  };
}

function asyncProperty<T>(name: string, arb: fc.Arbitrary<T>, predicate: (value: T) => Promise<void>): Property {
  return {
    name,
    check: async (params) => (await fc.check(fc.asyncProperty(arb, predicate), params as fc.Parameters<[T]>)) as fc.RunDetails<unknown>,
  };
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      seconds: { type: 'string', default: '20' },
      runs: { type: 'string' },
      seed: { type: 'string' },
      only: { type: 'string' },
    },
  });
  const seconds = Number(values.seconds);
  const runs = values.runs === undefined ? undefined : Number(values.runs);
  const seed = values.seed === undefined ? Date.now() ^ (process.pid << 8) : Number(values.seed);
  if (!(seconds >= 0) || (runs !== undefined && !(runs > 0)) || !Number.isInteger(seed)) {
    process.stderr.write('usage: npm run fuzz [-- --seconds S] [--runs N] [--seed N] [--only NAME]\n');
    return 2;
  }
  if (seconds === 0 && runs === undefined) {
    process.stderr.write('fuzz: --seconds 0 needs --runs\n');
    return 2;
  }
  const fixtures = loadFixtures();
  const arb = arbitraries(fixtures);
  const decodes = (bytes: Buffer): void => decodeAsMonitor(bytes, emptyOutcome());
  const properties: Property[] = [
    syncProperty('random-bytes', fc.uint8Array({ maxLength: 4096 }).map((b) => Buffer.from(b)), decodes),
    syncProperty('mutated-fixtures', arb.mutatedFixture, decodes),
    syncProperty('mutated-fixture-trains', arb.mutatedFixtureTrain, decodes),
    syncProperty('mutated-built', mutatedDatagramArb, decodes),
    syncProperty('attribute-soup', attributeSoupArb, decodes),
    asyncProperty('pipeline', fc.array(eventArb(arb.anyDatagram), { minLength: 1, maxLength: 24 }), runPipeline),
  ].filter((p) => values.only === undefined || p.name === values.only);
  if (properties.length === 0) {
    process.stderr.write(`fuzz: no property named ${values.only}\n`);
    return 2;
  }

  process.stdout.write(
    `fuzz: seed ${seed}, ${fixtures.length} kernel fixtures${fixtures.length === 0 ? ' (none found: mutating built datagrams instead)' : ''}, ` +
      `${seconds > 0 ? `${seconds} s` : 'no time limit'}${runs === undefined ? '' : `, at most ${runs} runs`} per property\n`,
  );
  let failed = 0;
  for (const { name, check } of properties) {
    const t0 = Date.now();
    const details = await check({
      seed,
      numRuns: runs ?? Number.MAX_SAFE_INTEGER,
      ...(seconds > 0 ? { interruptAfterTimeLimit: seconds * 1000, markInterruptAsFailure: false } : {}),
    });
    const took = ((Date.now() - t0) / 1000).toFixed(1);
    if (details.failed) {
      failed += 1;
      const error = details.errorInstance instanceof Error ? (details.errorInstance.stack ?? details.errorInstance.message) : String(details.errorInstance);
      process.stdout.write(`FAIL ${name}: after ${details.numRuns} runs (${took} s)\n${fc.defaultReportMessage(details) ?? ''}\n${error}\n`);
      process.stdout.write(`  replay: npm run fuzz -- --only ${name} --seed ${seed} --seconds 0 --runs ${details.numRuns}\n`);
    } else {
      process.stdout.write(`ok   ${name}: ${details.numRuns} runs in ${took} s\n`);
    }
  }
  return failed === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`fuzz: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(2);
  },
);
