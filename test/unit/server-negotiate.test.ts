import { test } from 'node:test';
import assert from 'node:assert/strict';
import { acceptsGzip, negotiateOpenMetrics, parseAccept } from '../../src/web/negotiate.js';

// What Prometheus 2.x/3.x scrapers send (scrape_protocols defaults), and other clients.
const PROMETHEUS_3 =
  'application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.5,' +
  'application/openmetrics-text;version=0.0.1;q=0.4,' +
  'text/plain;version=1.0.0;escaping=allow-utf-8;q=0.3,text/plain;version=0.0.4;q=0.2,*/*;q=0.1';
const PROMETHEUS_2 =
  'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,' +
  'text/plain;version=0.0.4;q=0.5,*/*;q=0.1';

const OPENMETRICS_CASES: Array<[string, string | undefined, boolean]> = [
  ['no Accept header', undefined, false],
  ['empty', '', false],
  ['curl', '*/*', false],
  ['browser', 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8', false],
  ['Prometheus 3', PROMETHEUS_3, true],
  ['Prometheus 2', PROMETHEUS_2, true],
  ['plain openmetrics', 'application/openmetrics-text', true],
  ['openmetrics 0.0.1', 'application/openmetrics-text; version=0.0.1', true],
  ['openmetrics unknown version', 'application/openmetrics-text; version=2.0.0', false],
  ['quoted version and upper case', 'Application/OpenMetrics-Text; Version="1.0.0"', true],
  ['text preferred by q', 'application/openmetrics-text;q=0.2,text/plain;q=0.9', false],
  ['openmetrics preferred by q', 'text/plain;version=0.0.4;q=0.3,application/openmetrics-text;q=0.4', true],
  ['equal q keeps header order (text first)', 'text/plain;q=0.5,application/openmetrics-text;q=0.5', false],
  ['equal q keeps header order (openmetrics first)', 'application/openmetrics-text;q=0.5,text/plain;q=0.5', true],
  ['q=0 refuses openmetrics', 'application/openmetrics-text;q=0,*/*', false],
  ['text 1.0.0 is not ours; falls through to openmetrics', 'text/plain;version=1.0.0,application/openmetrics-text;q=0.1', true],
  ['protobuf only', 'application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited', false],
  ['invalid q drops the range', 'application/openmetrics-text;q=abc', false],
  ['q above 1 drops the range', 'application/openmetrics-text;q=1.5', false],
];

for (const [name, accept, expected] of OPENMETRICS_CASES) {
  test(`Accept: ${name} → ${expected ? 'OpenMetrics' : 'text'}`, () => {
    assert.equal(negotiateOpenMetrics(accept), expected);
  });
}

test('parseAccept sorts by q, keeps parameters, drops bad entries', () => {
  const ranges = parseAccept('text/plain;version=0.0.4;q=0.2, bogus, application/json;q=0.9;charset="utf-8", */*');
  assert.deepEqual(
    ranges.map((r) => [r.type, r.q, Object.fromEntries(r.params)]),
    [
      ['*/*', 1, {}],
      ['application/json', 0.9, { charset: 'utf-8' }],
      ['text/plain', 0.2, { version: '0.0.4' }],
    ],
  );
});

const GZIP_CASES: Array<[string | undefined, boolean]> = [
  [undefined, false],
  ['', false],
  ['gzip', true],
  ['GZIP', true],
  ['gzip, deflate, br', true],
  ['deflate, br', false],
  ['gzip;q=0', false],
  ['gzip; q=0.000', false],
  ['gzip;q=0.001', true],
  ['identity', false],
  ['*', true],
  ['*;q=0', false],
  ['*, gzip;q=0', false],
  ['br;q=1.0, gzip;q=0.8, *;q=0.1', true],
  ['x-gzip', true],
  ['gzip;q=bad', false],
];

for (const [header, expected] of GZIP_CASES) {
  test(`Accept-Encoding: ${JSON.stringify(header)} → gzip ${expected}`, () => {
    assert.equal(acceptsGzip(header), expected);
  });
}
