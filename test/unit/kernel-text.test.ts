// The kernel-text codec: byte strings (device names, aliases) as text that is lossless and
// distinct — valid UTF-8 unchanged unless it holds `\x`, every byte of an ill-formed sequence
// as `\xHH`, backslashes doubled in escaped text.
import assert from 'node:assert/strict';
import { isUtf8 } from 'node:buffer';
import { describe, it } from 'node:test';

import fc from 'fast-check';

import { decodeKernelText, decodeWireText, encodeKernelText } from '../../src/netlink/kernel-text.js';
import { fuzzRuns } from '../helpers/netlink-arbitraries.js';

const bytes = (...values: number[]): Buffer => Buffer.from(values);
const RUNS = fuzzRuns(2_000);
/** No lone surrogate (String#isWellFormed, which this TypeScript lib does not declare). */
const wellFormed = (s: string): boolean => !/\p{Cs}/u.test(s);

// Byte strings as a device name can hold them (no NUL), rich in the bytes that matter here:
// backslash, 'x', hex digits, UTF-8 lead and continuation bytes, surrogate and overlong leads.
const INTERESTING = [0x5c, 0x78, 0x61, 0x66, 0x30, 0xff, 0xfe, 0xc0, 0xc3, 0xbc, 0xe2, 0x82, 0xac, 0xed, 0xa0, 0xbf, 0xf0, 0xf4, 0x90, 0x9f, 0x98, 0x80];
const nameBytesArb = fc
  .array(fc.oneof(fc.constantFrom(...INTERESTING), fc.integer({ min: 1, max: 255 })), { maxLength: 24 })
  .map((values) => Buffer.from(values));

describe('decodeKernelText', () => {
  const cases: Array<[string, Buffer, string]> = [
    ['ASCII', Buffer.from('eth0'), 'eth0'],
    ['a byte that is not UTF-8', bytes(0x61, 0xff), 'a\\xff'],
    ['another one', bytes(0x61, 0xfe), 'a\\xfe'],
    ['well-formed UTF-8', Buffer.from('br-ü-😀'), 'br-ü-😀'],
    ['U+FFFD itself, sent as UTF-8', Buffer.from('a\uFFFD'), 'a\uFFFD'],
    ['a backslash in a valid name', Buffer.from('a\\b'), 'a\\b'],
    ['valid text spelling an escape', Buffer.from('a\\xff'), 'a\\\\xff'],
    ['a backslash in a name that needs escaping', bytes(0x5c, 0x62, 0xff), '\\\\b\\xff'],
    ['a truncated sequence', bytes(0x61, 0xe2, 0x82), 'a\\xe2\\x82'],
    ['a lead byte cut by an ASCII byte', bytes(0xc3, 0x41), '\\xc3A'],
    ['an overlong NUL', bytes(0xc0, 0x80), '\\xc0\\x80'],
    ['an encoded surrogate', bytes(0xed, 0xa0, 0x80), '\\xed\\xa0\\x80'],
    ['beyond U+10FFFF', bytes(0xf4, 0x90, 0x80, 0x80), '\\xf4\\x90\\x80\\x80'],
    ['good text around a bad byte', Buffer.from([...Buffer.from('ü'), 0xff, ...Buffer.from('€')]), 'ü\\xff€'],
    ['empty', bytes(), ''],
  ];
  for (const [name, input, text] of cases) {
    it(`${name}: ${JSON.stringify(text)}`, () => {
      assert.equal(decodeKernelText(input), text);
      assert.deepEqual(encodeKernelText(text), input, 'and back to the same bytes');
    });
  }

  it('reads only the range it is given', () => {
    assert.equal(decodeKernelText(bytes(0xff, 0x61, 0xfe, 0x62, 0xff), 1, 4), 'a\\xfeb');
  });

  it('is injective: the bytes come back from the text, so two byte strings never share one', () => {
    fc.assert(
      fc.property(nameBytesArb, (b) => {
        assert.deepEqual(encodeKernelText(decodeKernelText(b)), b);
      }),
      { numRuns: RUNS },
    );
    fc.assert(
      fc.property(nameBytesArb, nameBytesArb, (a, b) => {
        fc.pre(!a.equals(b));
        assert.notEqual(decodeKernelText(a), decodeKernelText(b));
      }),
      { numRuns: RUNS },
    );
  });

  it('is the identity on well-formed UTF-8 without `\\x`, and escapes exactly the rest', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 24 }), (s) => {
        fc.pre(!s.includes('\\x') && wellFormed(s));
        assert.equal(decodeKernelText(Buffer.from(s, 'utf8')), s);
      }),
      { numRuns: RUNS },
    );
    // Node's own validator agrees on what is well-formed.
    fc.assert(
      fc.property(nameBytesArb, (b) => {
        const text = decodeKernelText(b);
        const plain = isUtf8(b) && !b.includes('\\x');
        assert.equal(text === b.toString('utf8'), plain, `${b.toString('hex')} → ${JSON.stringify(text)}`);
        assert.equal(text.includes('\\x'), !plain);
      }),
      { numRuns: RUNS },
    );
  });

  it('always gives well-formed text (JSON, labels and HTML take it as it is)', () => {
    fc.assert(
      fc.property(nameBytesArb, (b) => {
        assert.ok(wellFormed(decodeKernelText(b)));
      }),
      { numRuns: RUNS },
    );
  });
});

describe('decodeWireText', () => {
  const cases: Array<[string, Buffer, string]> = [
    ['plain text', Buffer.from('leaf-07'), 'leaf-07'],
    ['UTF-8 text', Buffer.from('Zürich 😀'), 'Zürich 😀'],
    ['a terminal escape', Buffer.from('a\x1b[31mb'), 'a\\x1b[31mb'],
    ['newline and tab', Buffer.from('a\nb\tc'), 'a\\x0ab\\x09c'],
    ['NUL and DEL', bytes(0x61, 0x00, 0x7f), 'a\\x00\\x7f'],
    ['a C1 control (U+009B, CSI)', Buffer.from('a\u009bb'), 'a\\xc2\\x9bb'],
    ['U+00A0 is no control', Buffer.from('a\u00a0b'), 'a\u00a0b'],
    ['a backslash beside a control', Buffer.from('\\\x07'), '\\\\\\x07'],
    ['a byte that is not UTF-8', bytes(0x61, 0xff), 'a\\xff'],
  ];
  for (const [name, input, text] of cases) {
    it(`${name}: ${JSON.stringify(text)}`, () => {
      assert.equal(decodeWireText(input), text);
      assert.deepEqual(encodeKernelText(text), input, 'and back to the same bytes');
    });
  }

  const wireBytesArb = fc
    .array(fc.oneof(fc.constantFrom(...INTERESTING, 0x00, 0x07, 0x0a, 0x1b, 0x7f, 0x9b), fc.integer({ min: 0, max: 255 })), { maxLength: 24 })
    .map((values) => Buffer.from(values));

  it('is lossless and never gives a control character', () => {
    fc.assert(
      fc.property(wireBytesArb, (b) => {
        const text = decodeWireText(b);
        assert.deepEqual(encodeKernelText(text), b);
        assert.ok(!/[\u0000-\u001f\u007f-\u009f]/.test(text), JSON.stringify(text));
        assert.ok(wellFormed(text));
      }),
      { numRuns: RUNS },
    );
  });

  it('agrees with decodeKernelText on bytes without controls', () => {
    fc.assert(
      fc.property(nameBytesArb, (b) => {
        fc.pre(!/[\u0000-\u001f\u007f-\u009f]/.test(b.toString('utf8')));
        assert.equal(decodeWireText(b), decodeKernelText(b));
      }),
      { numRuns: RUNS },
    );
  });
});

describe('encodeKernelText', () => {
  it('refuses escaped text with a stray backslash', () => {
    for (const text of ['a\\xff\\q', 'a\\xzz', '\\xf', 'a\\xff\\']) {
      assert.throws(() => encodeKernelText(text), RangeError, text);
    }
  });
});
