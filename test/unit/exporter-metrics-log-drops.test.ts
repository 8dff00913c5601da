// linkstate_exporter_log_lines_dropped_total follows the logger's count of lines its writer
// could not take (here: past a tiny bound on unwritten text).
import assert from 'node:assert/strict';
import { closeSync, openSync } from 'node:fs';
import { test } from 'node:test';
import { FdLineWriter } from '../../src/runtime/fd-line-writer.js';
import { createLogger } from '../../src/runtime/logger.js';
import { ExporterMetrics } from '../../src/metrics/exporter-metrics.js';
import { ManualClock } from '../helpers/manual-clock.js';

const dropped = (text: string): number => {
  const m = /^linkstate_exporter_log_lines_dropped_total (\S+)$/m.exec(text);
  assert.ok(m, 'the counter is exported');
  return Number(m[1]);
};

test('linkstate_exporter_log_lines_dropped_total counts the lines the log writer dropped', async () => {
  const fd = openSync('/dev/null', 'w');
  try {
    // The linger never passes on this clock: nothing is written until flushSync() below.
    const writer = new FdLineWriter(fd, { maxBufferedBytes: 120, clock: new ManualClock() });
    const logger = createLogger({ level: 'info', format: 'logfmt', destination: writer, now: () => 0 });
    const metrics = new ExporterMetrics({ version: '0', revision: 'x' }, () => 0, () => logger.droppedLines);
    assert.equal(dropped(await metrics.renderPrometheus()), 0);
    for (let i = 0; i < 5; i++) logger.info({ device: `eth${i}` }, 'carrier changed'); // ~70 bytes each: one fits
    assert.equal(logger.droppedLines, 4);
    assert.equal(dropped(await metrics.renderPrometheus()), 4);
    assert.equal(dropped(await metrics.renderPrometheus()), 4, 'a scrape does not count them again');
    logger.info('x'.repeat(200)); // longer than the bound: dropped whatever has been written meanwhile
    assert.equal(dropped(await metrics.renderPrometheus()), 5);
    assert.match(await metrics.renderOpenMetrics(), /^linkstate_exporter_log_lines_dropped_total 5$/m);
    writer.flushSync(); // written before the fd closes
    assert.equal(writer.bufferedBytes, 0);
  } finally {
    closeSync(fd);
  }
});
