#!/usr/bin/env node
// The entry point: V8 settings first (v8-flags.ts), then the exporter (run.ts), loaded only once
// the flags are set so that they hold for all of its code. The netlink sockets' receive rounds
// tell the young generation when a storm is on (young-generation.ts).
import { applyV8Flags } from './runtime/v8-flags.js';

applyV8Flags();
const [{ observeReceiveRounds }, { createYoungGeneration }] = await Promise.all([
  import('./netlink/socket.js'),
  import('./runtime/young-generation.js'),
]);
const youngGeneration = createYoungGeneration();
observeReceiveRounds({ busy: (nowMs) => youngGeneration.stormRound(nowMs), drained: (nowMs) => youngGeneration.quietRound(nowMs) });
await import('./cli/run.js');
