#!/usr/bin/env node
// The entry point: V8 settings first (v8-flags.ts), then the exporter (run.ts), loaded only once
// the flags are set so that they hold for all of its code.
import { applyV8Flags } from './runtime/v8-flags.js';

applyV8Flags();
await import('./cli/run.js');
