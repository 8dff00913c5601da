// `promtool check metrics` over an exposition: Prometheus's own lint of names, help, types and
// label syntax. Without promtool the test is skipped, and fails under CI=true.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import type { TestContext } from 'node:test';
import { requireCommand } from './repo.js';

/** Asserts promtool finds nothing to say about `exposition`; false when the test was skipped. */
export function promtoolCheckMetrics(t: TestContext, exposition: string): boolean {
  if (!requireCommand(t, 'promtool', 'prometheus')) return false;
  let out: string;
  try {
    out = execFileSync('promtool', ['check', 'metrics'], { input: exposition, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string };
    assert.fail(`promtool check metrics failed:\n${e.stdout ?? ''}${e.stderr ?? ''}`);
  }
  assert.equal(out.trim(), '');
  return true;
}
