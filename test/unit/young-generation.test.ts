// The young generation is held small at rest and may grow during a storm (src/runtime/young-generation.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { getHeapSpaceStatistics } from 'node:v8';
import { applyV8Flags } from '../../src/runtime/v8-flags.js';
import { quietRound, stormRound, youngGenerationMayGrow } from '../../src/runtime/young-generation.js';

// The exporter's flags (--semi-space-growth-factor=1 among them), as main.ts sets them.
assert.ok(applyV8Flags(), `the exporter's V8 flags apply to V8 ${process.versions.v8}`);

function newSpaceBytes(): number {
  return getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.space_size ?? 0;
}

/**
 * Allocation whose objects survive a scavenge or two, the pattern that makes V8 grow the space;
 * `round` is called every 10,000 objects, as the receive path calls stormRound per round.
 */
function churn(round: () => void = () => {}): void {
  let keep: object[] = [];
  for (let i = 0; i < 400_000; i += 1) {
    keep.push({ i, s: `x${i}` });
    if (keep.length > 20_000) keep = keep.slice(10_000);
    if (i % 10_000 === 0) round();
  }
}

const MiB = 1024 * 1024;

test('storm rounds let the young generation grow, to 8 MiB; a quiet round a second after the last storm round holds it again', () => {
  const t0 = 1_000_000;
  assert.equal(youngGenerationMayGrow(), false);
  quietRound(t0);
  assert.equal(youngGenerationMayGrow(), false);
  churn();
  churn();
  // V8 may have doubled it once while Node started; V8 13 counts a page or so beyond the
  // semi-spaces, so the bounds below are "not doubled again", not exact sizes.
  const atRest = newSpaceBytes();
  assert.ok(atRest < 4 * MiB, `held at rest: ${atRest} bytes`);
  stormRound(t0);
  assert.equal(youngGenerationMayGrow(), true);
  // The largest size seen at a round: once held again at 8 MiB, V8 may shrink the space between
  // rounds (and the next round lets it grow again), so a single reading at the end may be low.
  let inStorm = 0;
  for (let i = 0; i < 4; i += 1) {
    churn(() => {
      stormRound(t0);
      inStorm = Math.max(inStorm, newSpaceBytes());
    });
  }
  assert.ok(inStorm > atRest, `grew in a storm: ${inStorm} vs ${atRest} bytes`);
  assert.ok(inStorm < 16 * MiB, `stopped at 8 MiB, never doubled to 16: ${inStorm} bytes`);
  quietRound(t0 + 999);
  assert.equal(youngGenerationMayGrow(), true, 'not within a second of the last storm round');
  stormRound(t0 + 1_500);
  quietRound(t0 + 2_000);
  assert.equal(youngGenerationMayGrow(), true, 'a later storm round restarts the second');
  quietRound(t0 + 2_500);
  assert.equal(youngGenerationMayGrow(), false);
});
