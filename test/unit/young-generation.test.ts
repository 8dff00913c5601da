// The young generation is held small at rest and may grow during a storm
// (src/runtime/young-generation.ts): which V8 flag it sets, and when, against a fake V8. The
// footprint test (test/integration/footprint.test.ts) checks the real V8 at rest.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GROW_FLAG, HOLD_FLAG, STORM_NEW_SPACE_BYTES, createYoungGeneration } from '../../src/runtime/young-generation.js';

const MiB = 1024 * 1024;

function fakeV8(flagsApplied = true): { flags: string[]; newSpace: number; hooks: Parameters<typeof createYoungGeneration>[0] } {
  const v8 = {
    flags: [] as string[],
    newSpace: 1 * MiB,
    hooks: {
      newSpaceBytes: () => v8.newSpace,
      setFlag: (flag: string) => void v8.flags.push(flag),
      flagsApplied: () => flagsApplied,
    },
  };
  return v8;
}

test('a storm round lets the young generation grow; a quiet round a second after the last storm round holds it again', () => {
  const v8 = fakeV8();
  const young = createYoungGeneration(v8.hooks);
  const t0 = 1_000_000;
  young.quietRound(t0);
  assert.deepEqual(v8.flags, [], 'nothing at rest');
  assert.equal(young.stormy, false);
  young.stormRound(t0);
  assert.equal(young.stormy, true);
  assert.deepEqual(v8.flags, [GROW_FLAG]);
  young.stormRound(t0 + 10);
  assert.deepEqual(v8.flags, [GROW_FLAG], 'set once while it may grow');
  young.quietRound(t0 + 999);
  assert.equal(young.stormy, true, 'not within a second of the last storm round');
  young.stormRound(t0 + 1_500);
  young.quietRound(t0 + 2_000);
  assert.equal(young.stormy, true, 'a later storm round restarts the second');
  young.quietRound(t0 + 2_500);
  assert.equal(young.stormy, false);
  assert.deepEqual(v8.flags, [GROW_FLAG, HOLD_FLAG]);
});

test('growth stops at 8 MiB and resumes when V8 shrinks the space during the storm', () => {
  const v8 = fakeV8();
  const young = createYoungGeneration(v8.hooks);
  young.stormRound(0);
  v8.newSpace = STORM_NEW_SPACE_BYTES;
  young.stormRound(1);
  assert.deepEqual(v8.flags, [GROW_FLAG, HOLD_FLAG], 'held at 8 MiB');
  v8.newSpace = 16 * MiB;
  young.stormRound(2);
  assert.deepEqual(v8.flags, [GROW_FLAG, HOLD_FLAG], 'still held above it');
  v8.newSpace = 4 * MiB;
  young.stormRound(3);
  assert.deepEqual(v8.flags, [GROW_FLAG, HOLD_FLAG, GROW_FLAG], 'may grow again once shrunk');
  young.quietRound(3 + 1_000);
  assert.deepEqual(v8.flags, [GROW_FLAG, HOLD_FLAG, GROW_FLAG, HOLD_FLAG]);
});

test('on a V8 the flags were not set for, its own growth policy stays untouched', () => {
  const v8 = fakeV8(false);
  const young = createYoungGeneration(v8.hooks);
  young.stormRound(0);
  assert.equal(young.stormy, true);
  young.quietRound(2_000);
  assert.deepEqual(v8.flags, []);
});
