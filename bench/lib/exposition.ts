// Just enough of the Prometheus text format for the bench: the exporter's own health counters
// and the per-device carrier counters.

/** Sum of the samples of `name` (any labels) in a text exposition. */
export function sumSamples(text: string, name: string): number {
  let total = 0;
  const re = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'gm');
  for (const m of text.matchAll(re)) total += Number(m[1]);
  return total;
}

export interface DeviceCounters {
  changes: number;
  up: number;
  down: number;
}

const COUNTER_LINE = /^linkstate_carrier_(changes|up_changes|down_changes)_total\{device="([^"]*)"\} (\d+)$/gm;

/** device → carrier counters as exported by linkstate-exporter. */
export function deviceCounters(text: string): Map<string, DeviceCounters> {
  const out = new Map<string, DeviceCounters>();
  for (const m of text.matchAll(COUNTER_LINE)) {
    const device = m[2] as string;
    let c = out.get(device);
    if (c === undefined) {
      c = { changes: -1, up: -1, down: -1 };
      out.set(device, c);
    }
    const value = Number(m[3]);
    if (m[1] === 'changes') c.changes = value;
    else if (m[1] === 'up_changes') c.up = value;
    else c.down = value;
  }
  return out;
}
