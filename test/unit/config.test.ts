import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  formatListenAddress,
  helpText,
  parseByteSize,
  parseConfig,
  parseListenAddress,
  VERSION,
  type Config,
} from '../../src/cli/config.js';
import { ConfigError } from '../../src/runtime/config-error.js';

function run(argv: string[]): Config {
  const result = parseConfig(argv);
  assert.equal(result.kind, 'run');
  if (result.kind !== 'run') throw new Error('unreachable');
  return result.config;
}

function configError(argv: string[]): ConfigError {
  let caught: unknown;
  try {
    parseConfig(argv);
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof ConfigError, `expected ConfigError for ${JSON.stringify(argv)}, got ${String(caught)}`);
  assert.equal(caught.code, 'CONFIG');
  assert.ok(!caught.message.includes('\n'), `message must be one line: ${JSON.stringify(caught.message)}`);
  assert.ok(caught.message.length > 0);
  return caught;
}

test('defaults', () => {
  const c = run([]);
  assert.deepEqual(c.web.listenAddress, { port: 10071 });
  assert.equal(c.web.listenAddress.host, undefined);
  assert.equal(c.web.telemetryPath, '/metrics');
  assert.equal(c.web.configFile, undefined);
  assert.equal(c.web.maxRequests, 40);
  assert.equal(c.netlink.receiveBufferBytes, 8388608);
  assert.equal(c.collector.deviceInclude, undefined);
  assert.equal(c.collector.deviceExclude, undefined);
  assert.equal(c.collector.ethtool, true, 'the ethtool client is on by default');
  assert.equal(c.log.level, 'info');
  assert.equal(c.log.format, 'logfmt');
});

test('config is frozen all the way down', () => {
  const c = run([]);
  assert.ok(Object.isFrozen(c));
  for (const section of [c.web, c.netlink, c.collector, c.log, c.web.listenAddress]) assert.ok(Object.isFrozen(section));
  assert.throws(() => {
    (c.web as { telemetryPath: string }).telemetryPath = '/x';
  }, TypeError);
});

test('every flag is parsed, in both --flag=value and --flag value forms', () => {
  const c = run([
    '--web.listen-address=127.0.0.1:9000',
    '--web.telemetry-path',
    '/prom/metrics',
    '--web.config.file=/etc/web.yml',
    '--web.max-requests',
    '0',
    '--netlink.receive-buffer-bytes=16MiB',
    '--collector.device-include',
    'eth[0-9]+|veth.*',
    '--log.level=debug',
    '--log.format',
    'json',
  ]);
  assert.deepEqual(c.web.listenAddress, { host: '127.0.0.1', port: 9000 });
  assert.equal(c.web.telemetryPath, '/prom/metrics');
  assert.equal(c.web.configFile, '/etc/web.yml');
  assert.equal(c.web.maxRequests, 0);
  assert.equal(c.netlink.receiveBufferBytes, 16 * 1024 * 1024);
  assert.equal(c.log.level, 'debug');
  assert.equal(c.log.format, 'json');
  const include = c.collector.deviceInclude;
  assert.ok(include instanceof RegExp);
  assert.ok(include.test('eth0'));
  assert.ok(include.test('veth1234'));
  assert.ok(!include.test('xeth0'), 'anchored at the start');
  assert.ok(!include.test('eth0x'), 'anchored at the end');
  assert.ok(!include.test('wlan0'));
});

test('device exclude is anchored too', () => {
  const exclude = run(['--collector.device-exclude=lo|docker.*']).collector.deviceExclude;
  assert.ok(exclude instanceof RegExp);
  assert.ok(exclude.test('lo'));
  assert.ok(exclude.test('docker0'));
  assert.ok(!exclude.test('lo0'), 'alternation stays inside the anchors');
  assert.ok(!exclude.test('mydocker0'));
});

test('listen address forms', () => {
  assert.deepEqual(parseListenAddress(':0'), { port: 0 });
  assert.deepEqual(parseListenAddress(':65535'), { port: 65535 });
  assert.deepEqual(parseListenAddress('localhost:80'), { host: 'localhost', port: 80 });
  assert.deepEqual(parseListenAddress('[::1]:10071'), { host: '::1', port: 10071 });
  assert.deepEqual(parseListenAddress('[::]:1'), { host: '::', port: 1 });
  assert.deepEqual(parseListenAddress('[fe80::1%eth0]:1').port, 1);
  assert.equal(formatListenAddress({ port: 5 }), ':5');
  assert.equal(formatListenAddress({ host: '::1', port: 5 }), '[::1]:5');
  assert.equal(formatListenAddress({ host: 'a.b', port: 5 }), 'a.b:5');
});

test('byte sizes', () => {
  assert.equal(parseByteSize('4096'), 4096);
  assert.equal(parseByteSize('512KiB'), 512 * 1024);
  assert.equal(parseByteSize('8MiB'), 8 * 1024 * 1024);
  assert.equal(parseByteSize('1GiB'), 1024 ** 3);
  assert.equal(parseByteSize('8 MiB'), 8 * 1024 * 1024);
});

const BAD: Array<[string, string[], RegExp]> = [
  ['unknown flag', ['--web.listen-adress', ':1'], /unknown option '--web\.listen-adress'.*Did you mean --web\.listen-address/],
  ['positional argument', ['extra'], /too many arguments/],
  ['missing value', ['--web.listen-address'], /argument missing/],
  ['listen address without port', ['--web.listen-address=localhost'], /--web\.listen-address.*HOST:PORT/],
  ['port out of range', ['--web.listen-address=:65536'], /port 65536 is out of range/],
  ['port not a number', ['--web.listen-address=:http'], /--web\.listen-address/],
  ['IPv6 without brackets', ['--web.listen-address=::1:80'], /need brackets/],
  ['bracketed non-IPv6', ['--web.listen-address=[1.2.3.4]:80'], /not an IPv6 address/],
  ['bad host name', ['--web.listen-address=a_b:80'], /not a valid host name/],
  ['path without slash', ['--web.telemetry-path=metrics'], /--web\.telemetry-path.*must start with "\/"/],
  ['path is root', ['--web.telemetry-path=/'], /landing page/],
  ['path under /-/', ['--web.telemetry-path=/-/metrics'], /reserved/],
  ['path with query', ['--web.telemetry-path=/m?x=1'], /not allowed/],
  ['empty web config path', ['--web.config.file='], /--web\.config\.file.*must not be empty/],
  ['negative max requests', ['--web.max-requests=-1'], /--web\.max-requests.*non-negative integer/],
  ['fractional max requests', ['--web.max-requests=1.5'], /non-negative integer/],
  ['events history not a number', ['--web.events.history=many'], /--web\.events\.history.*integer from 0 to 100000, got "many"/],
  ['events history negative', ['--web.events.history=-1'], /--web\.events\.history.*integer from 0 to 100000/],
  ['events history too large', ['--web.events.history=100001'], /100001 is out of range 0-100000/],
  ['events max clients zero', ['--web.events.max-clients=0'], /--web\.events\.max-clients.*0 is out of range 1-1000/],
  ['events max clients fractional', ['--web.events.max-clients=2.5'], /integer from 1 to 1000/],
  ['buffer below minimum', ['--netlink.receive-buffer-bytes=4095'], /less than the minimum of 4096/],
  ['buffer above maximum', ['--netlink.receive-buffer-bytes=2GiB'], /more than the maximum/],
  ['buffer with unknown unit', ['--netlink.receive-buffer-bytes=8MB'], /--netlink\.receive-buffer-bytes.*8MiB/],
  ['bad include regex', ['--collector.device-include=eth[0-'], /--collector\.device-include.*invalid regular expression/],
  ['bad exclude regex', ['--collector.device-exclude=(a'], /--collector\.device-exclude.*invalid regular expression/],
  ['regex escaping the anchors', ['--collector.device-include=a)|(b'], /invalid regular expression/],
  ['empty regex', ['--collector.device-include='], /must not be empty/],
  ['include and exclude', ['--collector.device-include=a', '--collector.device-exclude=b'], /mutually exclusive/],
  ['bad log level', ['--log.level=trace'], /--log\.level.*Allowed choices are debug, info, warn, error/],
  ['bad log format', ['--log.format=text'], /--log\.format.*logfmt, json/],
];

for (const [name, argv, pattern] of BAD) {
  test(`error: ${name}`, () => {
    const err = configError(argv);
    assert.match(err.message, pattern);
    assert.doesNotMatch(err.message, /^error:/);
  });
}

test('--help returns the help text with every flag and its default', () => {
  const result = parseConfig(['--help']);
  assert.equal(result.kind, 'exit');
  if (result.kind !== 'exit') return;
  assert.equal(result.output, helpText());
  const text = result.output.replace(/\s+/g, ' ');
  const expected: Array<[string, string | undefined]> = [
    ['--web.listen-address', '(default: ":10071")'],
    ['--web.telemetry-path', '(default: "/metrics")'],
    ['--web.config.file', undefined],
    ['--web.max-requests', '(default: 40)'],
    ['--web.events.history', '(default: 1000)'],
    ['--web.events.max-clients', '(default: 16)'],
    ['--netlink.receive-buffer-bytes', '(default: "8MiB")'],
    ['--collector.device-include', undefined],
    ['--collector.device-exclude', undefined],
    ['--no-collector.ethtool', '(on by default'],
    ['--log.level', 'default: "info")'],
    ['--log.format', 'default: "logfmt")'],
    ['--help', undefined],
    ['--version', undefined],
  ];
  for (const [flag, def] of expected) {
    assert.ok(text.includes(flag), `help lists ${flag}`);
    if (def !== undefined) {
      const after = text.slice(text.indexOf(flag));
      const nextFlag = after.slice(2).search(/ --?[a-z]/);
      const own = nextFlag < 0 ? after : after.slice(0, nextFlag + 2);
      assert.ok(own.includes(def), `help shows ${def} for ${flag}: ${own}`);
    }
  }
  assert.match(text, /choices: "debug", "info", "warn", "error"/);
});

test('--version returns the package version', () => {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  assert.equal(VERSION, pkg.version);
  const result = parseConfig(['--version']);
  assert.equal(result.kind, 'exit');
  if (result.kind !== 'exit') return;
  assert.match(result.output, new RegExp(`^linkstate-exporter version ${pkg.version.replace(/\./g, '\\.')} `));
});

test('--no-collector.ethtool turns the ethtool client off; it takes no value', () => {
  assert.equal(run(['--no-collector.ethtool']).collector.ethtool, false);
  assert.equal(run(['--no-collector.ethtool', '--collector.device-exclude=lo']).collector.ethtool, false);
  assert.throws(() => parseConfig(['--no-collector.ethtool=yes']), ConfigError);
  assert.throws(() => parseConfig(['--collector.ethtool']), /unknown option '--collector\.ethtool'/);
});

test('--web.events.history and --web.events.max-clients: defaults, values, bounds', () => {
  assert.equal(run([]).web.eventsHistory, 1000);
  assert.equal(run([]).web.eventsMaxClients, 16);
  const c = run(['--web.events.history=0', '--web.events.max-clients', '1']);
  assert.equal(c.web.eventsHistory, 0);
  assert.equal(c.web.eventsMaxClients, 1);
  assert.equal(run(['--web.events.history', '100000', '--web.events.max-clients=1000']).web.eventsHistory, 100000);
  for (const argv of [['--web.events.history=1e3'], ['--web.events.max-clients=1001'], ['--web.events.history=']]) {
    const err = configError(argv);
    assert.ok(!err.message.includes('\n'), 'one line');
  }
});

test('parsing twice does not leak state between calls', () => {
  run(['--no-collector.ethtool']);
  assert.equal(run([]).collector.ethtool, true);
  run(['--web.max-requests=3']);
  assert.equal(run([]).web.maxRequests, 40);
});

test('--collector.netns: off by default, the paths default to /run/netns and /run/docker/netns', () => {
  const off = run([]);
  assert.equal(off.collector.netns, false);
  assert.deepEqual(off.collector.netnsPaths, ['/run/netns', '/run/docker/netns']);
  const on = run(['--collector.netns', '--collector.netns.paths=/a/,/b,/a', '--collector.netns.exclude=cni-.*']);
  assert.equal(on.collector.netns, true);
  assert.deepEqual(on.collector.netnsPaths, ['/a', '/b']);
  assert.ok(Object.isFrozen(on.collector.netnsPaths));
  const exclude = on.collector.netnsExclude!;
  assert.equal(exclude.test('cni-1'), true);
  assert.equal(exclude.test('x-cni-1'), false, 'anchored');
  assert.equal(run(['--collector.netns', '--collector.netns.include', 'web|db']).collector.netnsInclude?.test('webx'), false);
});

test('--collector.netns flags: bad values and combinations are one-line errors', () => {
  assert.match(configError(['--collector.netns', '--collector.netns.paths=relative']).message, /not an absolute path/);
  assert.match(configError(['--collector.netns', '--collector.netns.paths=/a,,/b']).message, /comma-separated/);
  assert.match(configError(['--collector.netns', '--collector.netns.include=(']).message, /invalid regular expression/);
  assert.match(
    configError(['--collector.netns', '--collector.netns.include=a', '--collector.netns.exclude=b']).message,
    /mutually exclusive/,
  );
  for (const flag of ['--collector.netns.include=a', '--collector.netns.exclude=a', '--collector.netns.paths=/x']) {
    assert.match(configError([flag]).message, /needs --collector\.netns/, flag);
  }
  assert.match(configError(['--collector.netns=yes']).message, /.+/);
});

test('--collector.lldp: off by default; the hold time defaults to 24h and takes Prometheus durations', () => {
  const off = run([]);
  assert.equal(off.collector.lldp, false);
  assert.equal(off.collector.lldpHoldTimeMs, 24 * 3600 * 1000);
  const on = run(['--collector.lldp', '--collector.lldp.hold-time=90m']);
  assert.equal(on.collector.lldp, true);
  assert.equal(on.collector.lldpHoldTimeMs, 90 * 60 * 1000);
  assert.equal(run(['--collector.lldp', '--collector.lldp.hold-time=1h30m']).collector.lldpHoldTimeMs, 90 * 60 * 1000);
  assert.equal(run(['--collector.lldp', '--collector.lldp.hold-time=0s']).collector.lldpHoldTimeMs, 0);
  assert.equal(run(['--collector.lldp', '--collector.lldp.hold-time=7d']).collector.lldpHoldTimeMs, 7 * 86400 * 1000);
});

test('--collector.lldp flags: bad values and combinations are one-line errors', () => {
  for (const bad of ['', '10', 'h', '-1h', '1.5h', '1y', '366d', '1h2x']) {
    const message = configError(['--collector.lldp', `--collector.lldp.hold-time=${bad}`]).message;
    assert.doesNotMatch(message, /\n/);
    assert.match(message, /hold-time/, bad);
  }
  assert.match(configError(['--collector.lldp.hold-time=1h']).message, /needs --collector\.lldp/);
  assert.match(configError(['--collector.lldp=yes']).message, /.+/);
});
