import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chooseLabels, type LabelInput } from '../../src/netns/labels.js';

function labels(input: Partial<LabelInput> & Pick<LabelInput, 'nsids'>): Record<number, string> {
  const chosen = chooseLabels({ self: -1, named: new Map(), previous: () => undefined, inodeOf: new Map(), ...input });
  return Object.fromEntries(chosen);
}

test('a named namespace takes its file name; one without is nsid-N; our self-id is never labelled', () => {
  assert.deepEqual(labels({ nsids: [0, 1, 2], self: 2, named: new Map([[0, 'blue']]) }), { 0: 'blue', 1: 'nsid-1' });
});

test('a name in two paths goes to the first namespace named so; the other is nsid-N', () => {
  assert.deepEqual(labels({ nsids: [3, 4], named: new Map([[4, 'red'], [3, 'red']]) }), { 3: 'nsid-3', 4: 'red' });
});

test('a namespace whose file is gone keeps its name unless another namespace is named so now', () => {
  const previous = (nsid: number): string | undefined => ({ 5: 'green', 6: 'teal' })[nsid];
  assert.deepEqual(labels({ nsids: [5, 6, 7], named: new Map([[7, 'teal']]), previous }), { 5: 'green', 6: 'nsid-6', 7: 'teal' });
});

test('a file called nsid-N does not take the label of the namespace whose nsid is N', () => {
  assert.deepEqual(labels({ nsids: [1, 8], named: new Map([[8, 'nsid-1']]) }), { 1: 'nsid-1', 8: 'nsid-8' });
});
