import assert from 'node:assert/strict';
import { test } from 'node:test';
import { nameSelected } from '../../src/links/name-filter.js';

test('a name is selected when it matches include (if any) and not exclude (if any)', () => {
  const names = ['eth0', 'eth1', 'lo', 'veth9'];
  const pick = (filter: Parameters<typeof nameSelected>[0]): string[] => names.filter((n) => nameSelected(filter, n));
  assert.deepEqual(pick({}), names);
  assert.deepEqual(pick({ include: /^eth/ }), ['eth0', 'eth1']);
  assert.deepEqual(pick({ exclude: /^(lo|veth.*)$/ }), ['eth0', 'eth1']);
  assert.deepEqual(pick({ include: /eth/, exclude: /^veth/ }), ['eth0', 'eth1']);
  assert.deepEqual(pick({ include: undefined, exclude: undefined }), names);
});
