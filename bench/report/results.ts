// The shape of a whole bench run, as written to results.json.
import type { SizeResult } from '../size-run.js';
import type { MemoryRunResult } from '../memory-run.js';
import type { NetnsRunResult } from '../netns-run.js';
import type { ScrapeBaselineResult } from '../scrape-baseline-run.js';

export interface MachineInfo {
  readonly cpu: string;
  readonly cores: number;
  readonly memoryGiB: number;
  readonly kernel: string;
  readonly os: string;
  readonly node: string;
  readonly nodeExporter: string;
  readonly gcc: string;
  readonly revision: string;
}

export interface BenchResults {
  readonly command: string;
  readonly startedAt: string;
  readonly durationSeconds: number;
  readonly machine: MachineInfo;
  readonly settings: Readonly<Record<string, number | boolean | string>>;
  readonly sizes: readonly SizeResult[];
  /** the memory steps' labs (footprint; storm-memory and memory-cap); absent in runs before they existed */
  readonly memory?: readonly MemoryRunResult[];
  /** the netns step (--collector.netns at N namespaces x L links against the same links host-only); absent in runs before it existed */
  readonly netns?: NetnsRunResult;
  /** the scrape-baseline step (this build's scrape against a baseline revision's, interleaved in one lab); absent in runs before it existed */
  readonly scrapeBaseline?: ScrapeBaselineResult;
  /** why the scrape-baseline step measured nothing (its baseline could not be built, its lab failed) */
  readonly scrapeBaselineError?: string;
}
