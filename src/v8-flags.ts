// V8 settings for a small resident footprint. main.ts imports this module before anything
// else, so the flags hold for (nearly) all the code the exporter runs. Measured on a 10-link
// host after 20 scrapes and 5 s of rest (BENCHMARKS.md, issue 8): about 5 MB less RSS, and a
// lower peak in a storm at the same CPU time.
//
// - --semi-space-growth-factor=1: the young generation starts at 1 MiB per semi-space and V8
//   doubles it (up to 16 MiB) whenever scavenges keep finding survivors; for an agent that
//   allocates in short bursts (a scrape, a storm) the grown space mostly holds pages it no
//   longer needs. V8 reads the factor each time it considers growing, so setting it at run
//   time works. (The space may have grown once while Node loaded the modules; only
//   `node --max-semi-space-size=1` prevents that.)
// - --interrupt-budget=524288 (4x V8's 132 KiB): a function is handed to the optimizing
//   compiler after 4x more bytecode executed. Code run a few times at start-up and per scrape
//   is no longer optimized (TurboFan's own code pages and compile zones stay out of RSS);
//   the hot paths of a storm still are, within milliseconds.
//
// Flags must be set before the functions they concern are created: set here, the interrupt
// budget reaches the modules loaded after main.ts's static imports only in part; a launcher
// that sets them and then imports main.js dynamically gets all of it (about 3 MB more).
// An unknown flag (a future V8) only prints one line on stderr; nothing else changes.
import { setFlagsFromString } from 'node:v8';

export const V8_FLAGS: readonly string[] = ['--semi-space-growth-factor=1', '--interrupt-budget=524288'];

for (const flag of V8_FLAGS) setFlagsFromString(flag);
