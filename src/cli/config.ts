// Command-line flags → frozen Config. Flags are spelled the way Prometheus exporters spell them
// (--web.listen-address, --log.level, ...); the value of each is parsed by flag-values.ts. Any bad
// input throws ConfigError with a single line; --help and --version return the text to print
// instead of exiting, so cli/run.ts (the wiring) decides what to do with it.

import { createRequire } from 'node:module';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { ConfigError } from '../runtime/config-error.js';
import {
  MIN_RECEIVE_BUFFER_BYTES,
  oneLine,
  parseBoundedCount,
  parseByteSize,
  parseDeviceRegex,
  parseHoldTime,
  parseListenAddress,
  parseMaxRequests,
  parseNonEmpty,
  parsePathList,
  parseTelemetryPath,
  type ListenAddress,
} from './flag-values.js';

export {
  MAX_LLDP_HOLD_TIME_MS,
  MAX_RECEIVE_BUFFER_BYTES,
  MIN_RECEIVE_BUFFER_BYTES,
  formatListenAddress,
  parseByteSize,
  parseDeviceRegex,
  parseHoldTime,
  parseListenAddress,
  parsePathList,
  parseTelemetryPath,
  type ListenAddress,
} from './flag-values.js';

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export const LOG_FORMATS = ['logfmt', 'json'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

export interface Config {
  readonly web: {
    readonly listenAddress: ListenAddress;
    readonly telemetryPath: string;
    readonly configFile?: string;
    /** Maximum parallel scrapes of the telemetry path; 0 = no limit. */
    readonly maxRequests: number;
    /** Link events kept for the event stream's replay (down transitions longest); 0 = none. */
    readonly eventsHistory: number;
    /** Maximum open event streams (GET /api/v1/events); at least 1. */
    readonly eventsMaxClients: number;
  };
  readonly netlink: {
    readonly receiveBufferBytes: number;
  };
  readonly collector: {
    /** Anchored: a device is exported only when its whole name matches. */
    readonly deviceInclude?: RegExp;
    /** Anchored: a device is not exported when its whole name matches. */
    readonly deviceExclude?: RegExp;
    /** Ask ethtool netlink for speed, duplex, autonegotiation, SQI and down reasons (--no-collector.ethtool: off). */
    readonly ethtool: boolean;
    /** Also export the links of every other network namespace (--collector.netns). */
    readonly netns: boolean;
    /** Directories whose files name network namespaces (bind mounts), in order of preference. */
    readonly netnsPaths: readonly string[];
    /** Anchored, on the netns label: a namespace is exported only when its whole label matches. */
    readonly netnsInclude?: RegExp;
    /** Anchored, on the netns label: a namespace is not exported when its whole label matches. */
    readonly netnsExclude?: RegExp;
    /** Read the LLDP neighbour of every link of our namespace (--collector.lldp; CAP_NET_RAW). */
    readonly lldp: boolean;
    /** How long a neighbour stays exported (stale) after its link lost carrier or it said shutdown. */
    readonly lldpHoldTimeMs: number;
  };
  readonly log: {
    readonly level: LogLevel;
    readonly format: LogFormat;
  };
}

export type ConfigResult =
  | { readonly kind: 'run'; readonly config: Config }
  | { readonly kind: 'exit'; readonly output: string };

export const PROGRAM_NAME = 'linkstate-exporter';

// dist/src/cli/config.js → ../../../package.json (the package root). Read once at start.
const packageJson = createRequire(import.meta.url)('../../../package.json') as { version?: unknown };
export const VERSION: string = typeof packageJson.version === 'string' ? packageJson.version : 'unknown';

export const DEFAULT_LISTEN_ADDRESS = ':10071';
export const DEFAULT_TELEMETRY_PATH = '/metrics';
export const DEFAULT_MAX_REQUESTS = 40;
export const DEFAULT_EVENTS_HISTORY = 1000;
export const MAX_EVENTS_HISTORY = 100_000;
export const DEFAULT_EVENTS_MAX_CLIENTS = 16;
export const MAX_EVENTS_MAX_CLIENTS = 1000;
export const DEFAULT_RECEIVE_BUFFER_BYTES = 8 * 1024 * 1024;
/** Where `ip netns` and containerd/CNI (/run/netns) and Docker (/run/docker/netns) name namespaces. */
export const DEFAULT_NETNS_PATHS: readonly string[] = ['/run/netns', '/run/docker/netns'];
/** A neighbour outlives its link's carrier by a day: long enough for an outage to be looked at. */
export const DEFAULT_LLDP_HOLD_TIME = '24h';

/**
 * Parses the user's arguments (process.argv.slice(2): without node and the script).
 * Never exits the process and never writes to stdout/stderr.
 */
export function parseConfig(argv: readonly string[]): ConfigResult {
  let output = '';
  const program = buildProgram((text) => {
    output += text;
  });
  try {
    program.parse([...argv], { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      if (
        err.code === 'commander.helpDisplayed' ||
        err.code === 'commander.help' ||
        err.code === 'commander.version'
      ) {
        return { kind: 'exit', output };
      }
      throw new ConfigError(oneLine(err.message.replace(/^error: /, '')), { cause: err });
    }
    throw err;
  }

  const o = program.opts<Record<string, unknown>>();
  const include = o['collector.deviceInclude'] as RegExp | undefined;
  const exclude = o['collector.deviceExclude'] as RegExp | undefined;
  if (include !== undefined && exclude !== undefined) {
    throw new ConfigError(
      'flags --collector.device-include and --collector.device-exclude are mutually exclusive',
    );
  }
  const netnsInclude = o['collector.netns.include'] as RegExp | undefined;
  const netnsExclude = o['collector.netns.exclude'] as RegExp | undefined;
  if (netnsInclude !== undefined && netnsExclude !== undefined) {
    throw new ConfigError('flags --collector.netns.include and --collector.netns.exclude are mutually exclusive');
  }
  const netns = o['collector.netns'] === true;
  const netnsPaths = o['collector.netns.paths'] as readonly string[];
  if (!netns) {
    for (const [flag, set] of [
      ['--collector.netns.include', netnsInclude !== undefined],
      ['--collector.netns.exclude', netnsExclude !== undefined],
      ['--collector.netns.paths', netnsPaths !== DEFAULT_NETNS_PATHS],
    ] as const) {
      if (set) throw new ConfigError(`flag ${flag} needs --collector.netns`);
    }
  }
  const lldp = o['collector.lldp'] === true;
  const lldpHoldTimeMs = o['collector.lldp.holdTime'] as number | undefined;
  if (!lldp && lldpHoldTimeMs !== undefined) throw new ConfigError('flag --collector.lldp.hold-time needs --collector.lldp');
  const configFile = o['web.config.file'] as string | undefined;

  const config: Config = {
    web: Object.freeze({
      listenAddress: o['web.listenAddress'] as ListenAddress,
      telemetryPath: o['web.telemetryPath'] as string,
      ...(configFile !== undefined ? { configFile } : {}),
      maxRequests: o['web.maxRequests'] as number,
      eventsHistory: o['web.events.history'] as number,
      eventsMaxClients: o['web.events.maxClients'] as number,
    }),
    netlink: Object.freeze({ receiveBufferBytes: o['netlink.receiveBufferBytes'] as number }),
    collector: Object.freeze({
      ...(include !== undefined ? { deviceInclude: include } : {}),
      ...(exclude !== undefined ? { deviceExclude: exclude } : {}),
      ethtool: o['collector.ethtool'] !== false,
      netns,
      netnsPaths: Object.freeze([...netnsPaths]),
      ...(netnsInclude !== undefined ? { netnsInclude } : {}),
      ...(netnsExclude !== undefined ? { netnsExclude } : {}),
      lldp,
      lldpHoldTimeMs: lldpHoldTimeMs ?? parseHoldTime(DEFAULT_LLDP_HOLD_TIME),
    }),
    log: Object.freeze({ level: o['log.level'] as LogLevel, format: o['log.format'] as LogFormat }),
  };
  return { kind: 'run', config: Object.freeze(config) };
}

/** The --help text, e.g. for the README. */
export function helpText(): string {
  let text = '';
  const program = buildProgram((s) => {
    text += s;
  });
  program.outputHelp();
  return text;
}

function buildProgram(writeOut: (text: string) => void): Command {
  const program = new Command()
    .name(PROGRAM_NAME)
    .description(
      'Prometheus exporter for network link carrier, admin and oper state and flap counts, ' +
        'driven by rtnetlink events.',
    )
    .version(`${PROGRAM_NAME} version ${VERSION} (node ${process.version})`, '--version', 'Show the version and exit.')
    .helpOption('-h, --help', 'Show this help and exit.')
    .exitOverride()
    .allowExcessArguments(false)
    .configureOutput({
      writeOut,
      writeErr: () => undefined,
      outputError: () => undefined,
    })
    .configureHelp({ helpWidth: 100 });

  program.addOption(
    new Option(
      '--web.listen-address <address>',
      'Address to listen on for the web interface and telemetry: ":PORT", "HOST:PORT" or "[IPv6]:PORT".',
    )
      .default(parseListenAddress(DEFAULT_LISTEN_ADDRESS), JSON.stringify(DEFAULT_LISTEN_ADDRESS))
      .argParser(argParser(parseListenAddress)),
  );
  program.addOption(
    new Option('--web.telemetry-path <path>', 'Path under which to expose metrics.')
      .default(DEFAULT_TELEMETRY_PATH, JSON.stringify(DEFAULT_TELEMETRY_PATH))
      .argParser(argParser(parseTelemetryPath)),
  );
  program.addOption(
    new Option(
      '--web.config.file <path>',
      'Path to a web configuration file (exporter-toolkit format) enabling TLS and/or basic ' +
        'authentication; re-read when it changes.',
    )
      .default(undefined, 'none')
      .argParser(argParser(parseNonEmpty)),
  );
  program.addOption(
    new Option(
      '--web.max-requests <count>',
      'Maximum number of parallel scrape requests; 0 means no limit.',
    )
      .default(DEFAULT_MAX_REQUESTS, String(DEFAULT_MAX_REQUESTS))
      .argParser(argParser(parseMaxRequests)),
  );
  program.addOption(
    new Option(
      '--web.events.history <count>',
      'Link events kept for replay to new event streams (GET /api/v1/events); down transitions ' +
        `are kept longest; 0 keeps none (max ${MAX_EVENTS_HISTORY}).`,
    )
      .default(DEFAULT_EVENTS_HISTORY, String(DEFAULT_EVENTS_HISTORY))
      .argParser(argParser((v) => parseBoundedCount(v, 0, MAX_EVENTS_HISTORY))),
  );
  program.addOption(
    new Option(
      '--web.events.max-clients <count>',
      `Maximum number of open event streams; one more is answered 503 (1-${MAX_EVENTS_MAX_CLIENTS}).`,
    )
      .default(DEFAULT_EVENTS_MAX_CLIENTS, String(DEFAULT_EVENTS_MAX_CLIENTS))
      .argParser(argParser((v) => parseBoundedCount(v, 1, MAX_EVENTS_MAX_CLIENTS))),
  );
  program.addOption(
    new Option(
      '--netlink.receive-buffer-bytes <bytes>',
      'Receive buffer size of the netlink socket: bytes, or with a KiB/MiB/GiB suffix ' +
        `(min ${MIN_RECEIVE_BUFFER_BYTES}, max 1GiB).`,
    )
      .default(DEFAULT_RECEIVE_BUFFER_BYTES, '"8MiB"')
      .argParser(argParser(parseByteSize)),
  );
  program.addOption(
    new Option(
      '--collector.device-include <regex>',
      'Regular expression of device names to include (anchored; whole name must match). ' +
        'Mutually exclusive with --collector.device-exclude.',
    )
      .default(undefined, 'all devices')
      .argParser(argParser(parseDeviceRegex)),
  );
  program.addOption(
    new Option(
      '--collector.device-exclude <regex>',
      'Regular expression of device names to exclude (anchored; whole name must match). ' +
        'Mutually exclusive with --collector.device-include.',
    )
      .default(undefined, 'none')
      .argParser(argParser(parseDeviceRegex)),
  );
  program.addOption(
    new Option(
      '--no-collector.ethtool',
      'Do not ask ethtool netlink for speed, duplex, autonegotiation, signal quality and the reason a ' +
        'link is down (on by default; no ethtool socket is opened when off).',
    ),
  );
  program.addOption(
    new Option(
      '--collector.netns',
      'Also export the links of every other network namespace: those with an nsid in ours and those ' +
        'named under --collector.netns.paths, each series labelled netns. Needs CAP_NET_ADMIN and ' +
        'CAP_NET_BROADCAST (off by default).',
    ),
  );
  program.addOption(
    new Option(
      '--collector.netns.paths <dirs>',
      'Comma-separated directories whose files name network namespaces (their names become the netns label).',
    )
      .default(DEFAULT_NETNS_PATHS, JSON.stringify(DEFAULT_NETNS_PATHS.join(',')))
      .argParser(argParser(parsePathList)),
  );
  program.addOption(
    new Option(
      '--collector.netns.include <regex>',
      'Regular expression of netns labels to include (anchored). Mutually exclusive with --collector.netns.exclude.',
    )
      .default(undefined, 'all namespaces')
      .argParser(argParser(parseDeviceRegex)),
  );
  program.addOption(
    new Option(
      '--collector.netns.exclude <regex>',
      'Regular expression of netns labels to exclude (anchored). Mutually exclusive with --collector.netns.include.',
    )
      .default(undefined, 'none')
      .argParser(argParser(parseDeviceRegex)),
  );
  program.addOption(
    new Option(
      '--collector.lldp',
      'Read the LLDP frames of the links of the exporter\'s own namespace (received only, never sent) and ' +
        'export each link\'s neighbour: chassis, port, system name. Needs CAP_NET_RAW (off by default).',
    ),
  );
  program.addOption(
    new Option(
      '--collector.lldp.hold-time <duration>',
      'How long a neighbour stays exported, marked stale, after its link lost carrier (or it announced ' +
        'shutdown): a duration such as 30m, 24h or 7d; 0s drops it at once.',
    )
      .default(undefined, JSON.stringify(DEFAULT_LLDP_HOLD_TIME))
      .argParser(argParser(parseHoldTime)),
  );
  program.addOption(
    new Option('--log.level <level>', 'Only log messages with the given severity or above.')
      .choices(LOG_LEVELS)
      .default('info', '"info"'),
  );
  program.addOption(
    new Option('--log.format <format>', 'Output format of log messages.')
      .choices(LOG_FORMATS)
      .default('logfmt', '"logfmt"'),
  );
  return program;
}

/** Adapts a parser that throws ConfigError to commander's InvalidArgumentError. */
function argParser<T>(parse: (value: string) => T): (value: string) => T {
  return (value: string) => {
    try {
      return parse(value);
    } catch (err) {
      if (err instanceof ConfigError) throw new InvalidArgumentError(err.message);
      throw err;
    }
  };
}
