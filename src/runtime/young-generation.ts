// The young generation may grow while a storm lasts (see v8-flags.ts for the flags set at start).
import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';
import { v8FlagsApplied } from './v8-flags.js';

/**
 * With the young generation held small (the semi-space flags of v8-flags.ts), a storm scavenges
 * every MiB it allocates and the collector takes a large share of the main thread; letting the space
 * grow while a storm lasts makes storms cheaper for a few MB more (docs/design.md, Measured
 * trade-offs). V8's memory reducer shrinks it again once allocation stops, and the factor goes
 * back to 1 a second after the last storm round, so start-up and scrapes at rest keep the small
 * footprint. main.ts calls stormRound() for a receive round that ended on its bound (data still
 * queued) and quietRound() for one that read the socket empty.
 */
export const STORM_QUIET_MS = 1_000;
// V8 doubles the space up to its maximum (16 MiB per semi-space: 32 MiB in all) and
// --max-semi-space-size cannot be lowered at run time, so the growth is stopped here at 8 MiB
// (4 MiB per semi-space) by holding the factor at 1 again.
export const STORM_NEW_SPACE_BYTES = 8 * 1024 * 1024;
export const GROW_FLAG = '--semi-space-growth-factor=2';
export const HOLD_FLAG = '--semi-space-growth-factor=1';

export interface YoungGeneration {
  stormRound(nowMs: number): void;
  quietRound(nowMs: number): void;
  /** Whether a storm is on (the young generation may grow up to STORM_NEW_SPACE_BYTES). */
  readonly stormy: boolean;
}

export interface YoungGenerationHooks {
  /** V8's new space now, in bytes. */
  newSpaceBytes(): number;
  setFlag(flag: string): void;
  /** Whether v8-flags.ts set its flags: on another V8 its own growth policy stays untouched. */
  flagsApplied(): boolean;
}

function v8NewSpaceBytes(): number {
  for (const space of getHeapSpaceStatistics()) if (space.space_name === 'new_space') return space.space_size;
  return 0;
}

export function createYoungGeneration(
  hooks: YoungGenerationHooks = { newSpaceBytes: v8NewSpaceBytes, setFlag: setFlagsFromString, flagsApplied: v8FlagsApplied },
): YoungGeneration {
  let stormy = false;
  let growing = false;
  let lastStormRoundMs = 0;
  const setGrowing = (grow: boolean): void => {
    if (grow === growing) return;
    growing = grow;
    if (hooks.flagsApplied()) hooks.setFlag(grow ? GROW_FLAG : HOLD_FLAG);
  };
  return {
    stormRound(nowMs) {
      lastStormRoundMs = nowMs;
      stormy = true;
      // One heap-statistics call per round that ended on its bound, on every such round: once at
      // STORM_NEW_SPACE_BYTES, V8 may shrink the space again at a scavenge, and the next round
      // lets it grow back, so the space stays near that size while the storm lasts.
      setGrowing(hooks.newSpaceBytes() < STORM_NEW_SPACE_BYTES);
    },
    quietRound(nowMs) {
      if (!stormy || nowMs - lastStormRoundMs < STORM_QUIET_MS) return;
      stormy = false;
      setGrowing(false);
    },
    get stormy() {
      return stormy;
    },
  };
}
