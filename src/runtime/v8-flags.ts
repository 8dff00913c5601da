// V8 settings for a small resident footprint, applied by main.ts before the exporter's code is
// loaded (flags set after a module is linked hold only in part for it).
//
// - --semi-space-growth-factor=1: the young generation starts at 1 MiB per semi-space and V8
//   doubles it whenever scavenges keep finding survivors; for an agent that allocates in short
//   bursts (a scrape, a storm) the grown space mostly holds pages it no longer needs. V8 reads
//   the factor each time it considers growing, so setting it at run time works. During a storm
//   the receive path lets it grow to 8 MiB (young-generation.ts) and holds it at 1 again after.
// - --optimize-for-size: V8 favours memory over speed, notably a smaller old-generation growing
//   factor, so garbage promoted during a storm is collected sooner.
// - --no-maglev: hot functions go from the baseline tier to TurboFan without V8's middle
//   compiler; its code, the binary's pages behind it and its compile zones stay out of memory
//   (resident after the scrapes of a large host), for a little CPU per scrape and none a storm
//   showed (docs/design.md).
//
// Each flag was kept for a gain measured on one V8 (docs/design.md, Measured trade-offs). V8
// prints an error on stderr for a flag it does not know and flags come and go between its
// versions, so they are set on that V8 only: another runtime runs with V8's defaults.
import { setFlagsFromString } from 'node:v8';

export const V8_FLAGS: readonly string[] = ['--semi-space-growth-factor=1', '--optimize-for-size', '--no-maglev'];

/** The V8 (major.minor: Node.js 24's) the flags were measured on. */
export const V8_FLAGS_MEASURED_ON = '13.6';

/** Whether the flags apply to this V8 version string (process.versions.v8). */
export function v8FlagsApply(v8Version: string = process.versions.v8): boolean {
  return v8Version.split('.').slice(0, 2).join('.') === V8_FLAGS_MEASURED_ON;
}

let applied: boolean | undefined;

/** Sets V8_FLAGS if this V8 is the one they were measured on; returns whether they are set. */
export function applyV8Flags(): boolean {
  if (applied === undefined) {
    applied = v8FlagsApply();
    if (applied) for (const flag of V8_FLAGS) setFlagsFromString(flag);
  }
  return applied;
}

/** Whether applyV8Flags set the flags (young-generation.ts changes the growth factor only then). */
export function v8FlagsApplied(): boolean {
  return applied === true;
}
