// V8 settings for a small resident footprint. main.ts imports this module before anything
// else, so the flags hold for the code the exporter runs. Measured (issue 8, RSS after
// 20 scrapes and 5 s of rest): 10 links 69.8-70.9 -> 68.4-68.8 MB; 10,001 interfaces 120.5 -> 99 MB
// (the young generation no longer grows to 16-32 MiB); storm CPU unchanged within noise.
//
// - --semi-space-growth-factor=1: the young generation starts at 1 MiB per semi-space and V8
//   doubles it (up to 16 MiB) whenever scavenges keep finding survivors; for an agent that
//   allocates in short bursts (a scrape, a storm) the grown space mostly holds pages it no
//   longer needs. V8 reads the factor each time it considers growing, so setting it at run
//   time works. (The space may have grown once while Node loaded the modules; only
//   `node --max-semi-space-size=1` prevents that.) During a storm the receive path lets it grow
//   to 8 MiB (src/young-generation.ts), and sets the factor back to 1 once the storm is over.
// - --interrupt-budget=524288 (4x V8's 132 KiB): a function is handed to the optimizing
//   compiler after 4x more bytecode executed. Code run a few times at start-up and per scrape
//   is no longer optimized (TurboFan's own code pages and compile zones stay out of RSS);
//   the hot paths of a storm still are, within milliseconds.
//
// - --optimize-for-size: V8 favours memory over speed, notably a smaller old-generation growing
//   factor, so garbage promoted during a storm is collected sooner. Measured in the same 1,000-pair
//   storm at the info level: peak RSS 1.37x -> 1.15x the RSS before it, storm CPU 248 -> 209 ticks
//   (within noise); at rest 65.6 -> 65.2 MB.
//
// Flags must be set before the code they concern is loaded: main.ts imports this module and
// only then, dynamically, the exporter (run.ts): 65.2 MB at rest with 10 links (bare node 40.3),
// where setting them after the exporter's static imports were linked gave 68.8 MB.
// An unknown flag (a future V8) only prints one line on stderr; nothing else changes.
import { setFlagsFromString } from 'node:v8';

export const V8_FLAGS: readonly string[] = ['--semi-space-growth-factor=1', '--interrupt-budget=524288', '--optimize-for-size'];

for (const flag of V8_FLAGS) setFlagsFromString(flag);
