// `npm run bench`: builds the C listener, then for each lab size makes a network namespace, runs
// size-run.js inside it (`ip netns exec`, so the lab has its own /sys and loopback), tears the lab
// down, and writes results.json, report.md and scrape-time.svg to --out. With --update-docs it
// also rewrites the generated part of BENCHMARKS.md and bench/results/. Needs root.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem, release } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, InvalidArgumentError } from 'commander';
import { buildListener } from './lib/listener.js';
import { LNK_GROUP } from './lib/lab.js';
import type { SizeConfig, SizeResult } from './size-run.js';
import type { MemoryRunConfig, MemoryRunResult, MemoryStep } from './memory-run.js';
import type { NetnsConfig, NetnsRunResult } from './netns-run.js';
import type { ScrapeBaselineConfig, ScrapeBaselineResult } from './scrape-baseline-run.js';
import { prepareBaseline } from './lib/baseline.js';
import { createMemoryCgroup, daemonSetContainer, serviceMonitorScrapeTimeoutMs, type MemoryCgroup } from '../test/helpers/cgroup.js';
import type { BenchResults, MachineInfo } from './report/results.js';
import { renderTables, plotSeries } from './report/markdown.js';
import { renderPlot } from './report/plot.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const SIZE_RUN = fileURLToPath(new URL('./size-run.js', import.meta.url));
const MEMORY_RUN = fileURLToPath(new URL('./memory-run.js', import.meta.url));
const NETNS_RUN = fileURLToPath(new URL('./netns-run.js', import.meta.url));
const SCRAPE_BASELINE_RUN = fileURLToPath(new URL('./scrape-baseline-run.js', import.meta.url));
/**
 * `--steps` names: the per-size run, the memory steps (memory-run.ts), the namespaces step
 * (netns-run.ts), the scrape against a baseline revision (scrape-baseline-run.ts).
 */
const STEPS = ['sizes', 'footprint', 'storm-memory', 'memory-cap', 'netns', 'scrape-baseline'] as const;
type Step = (typeof STEPS)[number];
/** veth pairs of the footprint lab: 10 veths and lo */
const FOOTPRINT_PAIRS = 5;
/** veth pairs of the storm-memory and memory-cap lab: 1,001 interfaces */
const STORM_MEMORY_PAIRS = 500;
/** the scrape-baseline step's baseline: the last commit before the ethtool client and bridge port state */
const DEFAULT_BASELINE_REV = 'f650b85';
/** veth pairs of the scrape-baseline lab: 10,001 interfaces */
const BASELINE_PAIRS = 5000;
const BEGIN = '<!-- bench:generated:begin -->';
const END = '<!-- bench:generated:end -->';

function log(msg: string): void {
  process.stderr.write(`bench: ${msg}\n`);
}

function positiveInts(value: string): number[] {
  const list = value.split(',').map((v) => Number(v.trim()));
  if (list.length === 0 || list.some((n) => !Number.isInteger(n) || n < 1)) throw new InvalidArgumentError('expected a comma-separated list of positive integers');
  return list;
}

function stepList(value: string): Step[] {
  const list = value.split(',').map((v) => v.trim());
  const bad = list.filter((v) => !(STEPS as readonly string[]).includes(v));
  if (list.length === 0 || bad.length > 0) throw new InvalidArgumentError(`unknown step ${bad.join(', ')}; steps: ${STEPS.join(', ')}`);
  return list as Step[];
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive integer');
  return n;
}

function positive(value: string): number {
  const n = Number(value);
  if (!(n > 0)) throw new InvalidArgumentError('expected a positive number');
  return n;
}

interface Options {
  sizes?: number[];
  quick?: boolean;
  out: string;
  updateDocs?: boolean;
  nodeExporter: boolean;
  idleSeconds?: number;
  stormFlips?: number;
  changes?: number;
  neBudget?: number;
  exporterNodeOptions?: string;
  fromResults?: string;
  steps?: Step[];
  exporter?: string;
  netnsCount?: number;
  netnsLinks?: number;
  baselineRev: string;
  baselinePairs?: number;
  baselineScrapes?: number;
}

function parseArgs(argv: readonly string[]): Options {
  const program = new Command()
    .name('npm run bench --')
    .description('Benchmarks linkstate-exporter against node_exporter and a C netlink listener in throwaway network namespaces (root).')
    .option('--sizes <pairs>', 'veth pairs per lab, comma-separated (interfaces = 2 * pairs + 1); default 100,500,1000,5000', positiveInts)
    .option('--quick', 'a short run: sizes 100,1000 unless --sizes, 5 s idle, 20 scrapes, smaller storms, 40 changes')
    .option('--out <dir>', 'where results go', join(REPO, 'bench', 'out'))
    .option('--update-docs', 'also rewrite the generated part of BENCHMARKS.md and bench/results/')
    .option('--no-node-exporter', 'skip node_exporter')
    .option('--idle-seconds <s>', 'idle window', positive)
    .option('--storm-flips <n>', 'down+up flips of the storm group per storm', positive)
    .option('--changes <n>', 'single carrier changes for the latency measurement', positive)
    .option('--ne-budget <s>', 'seconds of node_exporter scraping per exporter and variant', positive)
    .option('--from-results <file>', 'measure nothing: render the report (and with --update-docs, the docs) from an earlier results.json')
    .option('--exporter-node-options <options>', "NODE_OPTIONS for linkstate-exporter (experiments; default: none, as deployed)")
    .option('--steps <list>', `what to run, comma-separated: ${STEPS.join(', ')} (default: all)`, stepList)
    .option('--netns-count <n>', 'netns step: network namespaces (default 100)', positiveInt)
    .option('--netns-links <n>', 'netns step: links (veth peers) per namespace (default 4)', positiveInt)
    .option('--baseline-rev <rev>', 'scrape-baseline step: the revision to compare with, built in a git worktree under bench/out/.baseline/', DEFAULT_BASELINE_REV)
    .option('--baseline-pairs <n>', `scrape-baseline step: veth pairs of its lab (default ${BASELINE_PAIRS}: 10,001 interfaces; the target is judged there only)`, positiveInt)
    .option('--baseline-scrapes <n>', 'scrape-baseline step: timed scrapes per exporter and header set (default 200, 60 with --quick)', positiveInt)
    .option('--exporter <main.js>', "the exporter to measure (another build's dist/src/main.js; default: this checkout's)")
    .parse([...argv], { from: 'user' });
  return program.opts<Options>();
}

function tryRun(cmd: string, args: readonly string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : '';
}

function ensureTools(needNodeExporter: boolean): void {
  const missing: string[] = [];
  if (needNodeExporter && !existsSync('/usr/bin/prometheus-node-exporter')) missing.push('prometheus-node-exporter');
  if (tryRun('sh', ['-c', 'command -v gcc']) === '') missing.push('gcc');
  if (tryRun('sh', ['-c', 'command -v ip']) === '') missing.push('iproute2');
  if (missing.length === 0) return;
  log(`installing ${missing.join(' ')} (apt-get)`);
  execFileSync('apt-get', ['update'], { stdio: 'inherit' });
  execFileSync('apt-get', ['install', '-y', '--no-install-recommends', ...missing], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
}

function machineInfo(): MachineInfo {
  const osRelease = existsSync('/etc/os-release') ? readFileSync('/etc/os-release', 'utf8') : '';
  const dirty = tryRun('git', ['-C', REPO, 'status', '--porcelain', '--untracked-files=no', '--', 'src', 'bench']) !== '';
  return {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    kernel: release(),
    os: /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(osRelease)?.[1] ?? 'unknown',
    node: process.version,
    nodeExporter: tryRun('/usr/bin/prometheus-node-exporter', ['--version']).split('\n')[0] ?? 'unknown',
    gcc: tryRun('gcc', ['--version']).split('\n')[0] ?? 'unknown',
    revision: `${tryRun('git', ['-C', REPO, 'rev-parse', '--short', 'HEAD']) || 'unknown'}${dirty ? ' (with uncommitted changes)' : ''}`,
  };
}

/** Kills what is left in the namespace, deletes the veths in one request, deletes the namespace. */
function destroyLab(ns: string): void {
  for (const pid of tryRun('ip', ['netns', 'pids', ns]).split('\n').filter(Boolean)) {
    try {
      process.kill(Number(pid), 'SIGKILL');
    } catch {
      // gone already
    }
  }
  spawnSync('ip', ['-n', ns, 'link', 'del', 'group', String(LNK_GROUP)]);
  spawnSync('ip', ['netns', 'del', ns]);
}

/** Runs script (size-run.js, memory-run.js) with its config inside a fresh lab namespace; resolves to the JSON it wrote to resultFile. */
function runInLab<T>(name: string, script: string, config: object, resultFile: string): Promise<T> {
  const ns = `lsbench-${process.pid}-${name}`;
  execFileSync('ip', ['netns', 'add', ns]);
  const cleanup = (): void => destroyLab(ns);
  process.once('exit', cleanup);
  return new Promise<T>((resolvePromise, reject) => {
    const child = spawn('ip', ['netns', 'exec', ns, process.execPath, script, JSON.stringify(config)], { stdio: ['ignore', 'inherit', 'inherit'] });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      cleanup();
      process.off('exit', cleanup);
      if (code !== 0) return reject(new Error(`${name} failed (${code ?? signal})`));
      resolvePromise(JSON.parse(readFileSync(resultFile, 'utf8')) as T);
    });
  });
}

function runSize(config: SizeConfig): Promise<SizeResult> {
  return runInLab(String(config.pairs), SIZE_RUN, config, join(config.outDir, `pairs-${config.pairs}.json`));
}

/**
 * The memory steps of one lab. memory-cap's cgroup is made here, outside the namespace (whose
 * own /sys has no cgroup file system), at the DaemonSet's limit, handed to memory-run.js as
 * /proc/<this pid>/root/<its path>, and removed afterwards.
 */
async function runMemory(config: Omit<MemoryRunConfig, 'cap'>): Promise<MemoryRunResult> {
  let cgroup: MemoryCgroup | undefined;
  let cap: MemoryRunConfig['cap'];
  if (config.steps.includes('memory-cap')) {
    const daemonSet = daemonSetContainer();
    try {
      cgroup = createMemoryCgroup('lsbench-cap', daemonSet.memoryLimitBytes);
      cap = { dir: `/proc/${process.pid}/root${cgroup.path}`, version: cgroup.version, limitBytes: cgroup.limitBytes, args: daemonSet.args };
    } catch (error) {
      log(`memory-cap: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  try {
    return await runInLab<MemoryRunResult>(`mem-${config.lab}`, MEMORY_RUN, { ...config, ...(cap ? { cap } : {}) }, join(config.outDir, `memory-${config.lab}.json`));
  } finally {
    await cgroup?.destroy();
  }
}

/** The scrape-baseline step: the baseline built (outside the lab: npm ci needs the registry, the lab has no route to it), then scrape-baseline-run.js in a lab. */
async function runScrapeBaseline(rev: string, pairs: number, scrapes: number, outDir: string, exporterNodeOptions: string, exporterMain: string | undefined): Promise<ScrapeBaselineResult> {
  const baseline = prepareBaseline(REPO, rev, log);
  const config: ScrapeBaselineConfig = {
    pairs,
    outDir,
    scrapes,
    warmups: 5,
    baselineMain: baseline.main,
    baselineRevision: baseline.revision,
    baselineSubject: baseline.subject,
    exporterNodeOptions,
    ...(exporterMain !== undefined ? { exporterMain } : {}),
  };
  return runInLab<ScrapeBaselineResult>('scrape-baseline', SCRAPE_BASELINE_RUN, config, join(outDir, 'scrape-baseline.json'));
}

function updateDocs(tables: string, svg: string, json: string): void {
  const resultsDir = join(REPO, 'bench', 'results');
  mkdirSync(resultsDir, { recursive: true });
  writeFileSync(join(resultsDir, 'scrape-time.svg'), svg);
  writeFileSync(join(resultsDir, 'results.json'), json);
  const doc = join(REPO, 'BENCHMARKS.md');
  const text = existsSync(doc) ? readFileSync(doc, 'utf8') : `# Benchmarks\n\n${BEGIN}\n${END}\n`;
  const b = text.indexOf(BEGIN);
  const e = text.indexOf(END);
  if (b < 0 || e < b) throw new Error(`BENCHMARKS.md lacks the ${BEGIN} … ${END} markers`);
  writeFileSync(doc, `${text.slice(0, b + BEGIN.length)}\n${tables}${text.slice(e)}`);
  log(`updated ${doc} and ${resultsDir}`);
}

function renderGenerated(results: BenchResults): string {
  const m = results.machine;
  const lines = [
    `Run ${results.startedAt}, ${Math.round(results.durationSeconds / 60)} min, revision ${m.revision}: \`${results.command}\``,
    '',
    `Machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB RAM; ${m.os}, Linux ${m.kernel}; Node.js ${m.node}; ${m.nodeExporter}; ${m.gcc}.`,
    '',
    '![median scrape time against interfaces](bench/results/scrape-time.svg)',
    '',
    renderTables(results),
  ];
  return lines.join('\n');
}

function publish(all: BenchResults, outDir: string, update: boolean): void {
  const json = JSON.stringify(all, null, 1) + '\n';
  const svg = renderPlot('Median /metrics scrape time', plotSeries(all), `${all.machine.cores} cores, ${all.startedAt.slice(0, 10)}`);
  const generated = renderGenerated(all);
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, 'results.json'), json);
  writeFileSync(join(outDir, 'scrape-time.svg'), svg);
  writeFileSync(join(outDir, 'report.md'), generated);
  process.stdout.write(generated);
  log(`results in ${outDir}`);
  if (update) updateDocs(generated, svg, json);
}

async function main(argv: readonly string[]): Promise<void> {
  const opts = parseArgs(argv);
  if (opts.fromResults !== undefined) {
    const earlier = JSON.parse(readFileSync(opts.fromResults, 'utf8')) as BenchResults;
    publish(earlier, resolve(opts.out), opts.updateDocs === true);
    return;
  }
  if (process.getuid?.() !== 0) throw new Error('the bench needs root (network namespaces, veth pairs); run it as root');
  const quick = opts.quick === true;
  const steps = new Set<Step>(opts.steps ?? STEPS);
  ensureTools(steps.has('sizes') && opts.nodeExporter);
  const sizes = steps.has('sizes') ? (opts.sizes ?? (quick ? [100, 1000] : [100, 500, 1000, 5000])) : [];
  const exporterMain = opts.exporter === undefined ? undefined : resolve(opts.exporter);
  if (exporterMain !== undefined && !existsSync(exporterMain)) throw new Error(`--exporter ${exporterMain}: no such file`);
  const outDir = resolve(opts.out);
  mkdirSync(outDir, { recursive: true });
  const listenerBinary = join(outDir, 'nl-listen');
  await buildListener(join(REPO, 'bench', 'c', 'nl-listen.c'), listenerBinary);
  if (exporterMain === undefined && !existsSync(join(REPO, 'dist', 'src', 'main.js'))) throw new Error('dist/src/main.js missing: run `npm run build` (npm run bench does)');

  const settings = {
    scrapes: quick ? 20 : 50,
    neScrapes: 20,
    neMinScrapes: quick ? 2 : 3,
    neBudgetSeconds: opts.neBudget ?? (quick ? 10 : 40),
    idleSeconds: opts.idleSeconds ?? (quick ? 5 : 30),
    readyRuns: quick ? 1 : 3,
    stormFlips: opts.stormFlips ?? (quick ? 300 : 1000),
    changes: opts.changes ?? (quick ? 40 : 200),
    skipNodeExporter: !opts.nodeExporter,
    exporterNodeOptions: opts.exporterNodeOptions ?? '',
    ...(exporterMain !== undefined ? { exporterMain } : {}),
    steps: [...steps].join(','),
    // the memory steps: the storm the memory limit is sized for (2,000 requests, as in
    // test/integration/memory-limit.test.ts) unless --storm-flips
    memoryStormFlips: opts.stormFlips ?? 1000,
    footprintRuns: quick ? 1 : 3,
    footprintScrapes: 20,
    restSeconds: 5,
  };
  const started = Date.now();
  const startedAt = new Date(started).toISOString().replace(/\.\d+Z$/, 'Z');
  const results: SizeResult[] = [];
  for (const pairs of sizes) {
    log(`--- ${pairs} pairs`);
    results.push(await runSize({ pairs, outDir, listenerBinary, ...settings }));
  }
  const memory: MemoryRunResult[] = [];
  const memoryCommon = {
    outDir,
    listenerBinary,
    ...(exporterMain !== undefined ? { exporterMain } : {}),
    exporterNodeOptions: settings.exporterNodeOptions,
    stormFlips: settings.memoryStormFlips,
    footprintRuns: settings.footprintRuns,
    footprintScrapes: settings.footprintScrapes,
    restSeconds: settings.restSeconds,
    scrapeTimeoutMs: serviceMonitorScrapeTimeoutMs(),
  };
  if (steps.has('footprint')) {
    log(`--- footprint (${FOOTPRINT_PAIRS} pairs)`);
    memory.push(await runMemory({ lab: 'footprint', pairs: FOOTPRINT_PAIRS, steps: ['footprint'], ...memoryCommon }));
  }
  const stormSteps = (['storm-memory', 'memory-cap'] as const).filter((s) => steps.has(s));
  if (stormSteps.length > 0) {
    log(`--- ${stormSteps.join(', ')} (${STORM_MEMORY_PAIRS} pairs)`);
    memory.push(await runMemory({ lab: 'storm', pairs: STORM_MEMORY_PAIRS, steps: stormSteps as MemoryStep[], ...memoryCommon }));
  }
  let netns: NetnsRunResult | undefined;
  if (steps.has('netns')) {
    const shape = { namespaces: opts.netnsCount ?? 100, linksPerNamespace: opts.netnsLinks ?? 4 };
    log(`--- netns (${shape.namespaces} namespaces x ${shape.linksPerNamespace} links)`);
    const config: NetnsConfig = {
      ...shape,
      outDir,
      // more scrapes than the sizes step: CPU per scrape is read in 10 ms ticks
      scrapes: quick ? 100 : 300,
      readyRuns: settings.readyRuns,
      // min(N, 50) pairs flip per request: the sizes step's storm (50 pairs) at N >= 50
      stormFlips: Math.max(1, Math.round((settings.stormFlips * 50) / Math.min(shape.namespaces, 50))),
      exporterNodeOptions: settings.exporterNodeOptions,
      ...(exporterMain !== undefined ? { exporterMain } : {}),
    };
    netns = await runInLab<NetnsRunResult>('netns', NETNS_RUN, config, join(outDir, 'netns.json'));
  }
  let scrapeBaseline: ScrapeBaselineResult | undefined;
  let scrapeBaselineError: string | undefined;
  if (steps.has('scrape-baseline')) {
    const pairs = opts.baselinePairs ?? BASELINE_PAIRS;
    log(`--- scrape-baseline (${pairs} pairs, against ${opts.baselineRev})`);
    try {
      scrapeBaseline = await runScrapeBaseline(opts.baselineRev, pairs, opts.baselineScrapes ?? (quick ? 60 : 200), outDir, settings.exporterNodeOptions, exporterMain);
    } catch (error) {
      // A baseline that cannot be built (no registry, a bad --baseline-rev) costs this step only, not the run.
      scrapeBaselineError = error instanceof Error ? error.message : String(error);
      log(`scrape-baseline: ${scrapeBaselineError}`);
    }
  }
  const all: BenchResults = {
    command: ['npm run bench', ...(argv.length > 0 ? ['--', ...argv] : [])].join(' '),
    startedAt,
    durationSeconds: (Date.now() - started) / 1000,
    machine: machineInfo(),
    settings,
    sizes: results,
    memory,
    ...(netns !== undefined ? { netns } : {}),
    ...(scrapeBaseline !== undefined ? { scrapeBaseline } : {}),
    ...(scrapeBaselineError !== undefined ? { scrapeBaselineError } : {}),
  };
  publish(all, outDir, opts.updateDocs === true);
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));
main(process.argv.slice(2)).catch((error: unknown) => {
  process.stderr.write(`bench: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
