// Kernel byte strings (device names, aliases, namespace file names) as text, losslessly.
//
// The kernel allows any byte but NUL, '/', ':' and whitespace in a device name, so a name need
// not be UTF-8. Decoding it lossily (each invalid byte as U+FFFD) would give two devices one
// name. Instead:
//   - bytes that are well-formed UTF-8 and do not contain the two characters `\x` are the
//     text they encode, unchanged (every name the kernel tools create from ordinary text);
//   - any other byte string is written escaped: each byte of an ill-formed sequence as `\xHH`
//     (two lower-case hex digits), each backslash as `\\`, everything else as its UTF-8 text.
// An escaped text always contains `\x` (an escaped byte, or the doubled backslash of a `\x`
// that made the name need escaping) and an unescaped one never does, and escaped text reads
// back one way only: the mapping is injective, and encodeKernelText below is its inverse.
// Well-formed means Unicode's Table 3-7: no overlong forms, no surrogates, nothing above
// U+10FFFF; the text is then always well-formed UTF-16 (safe in JSON, labels and HTML).

const BACKSLASH = 0x5c;
const LOWER_X = 0x78;
const HEX = '0123456789abcdef';

/**
 * Length of the well-formed UTF-8 sequence starting at buf[i] (i < end), or 0 when the byte
 * there does not start one (Unicode Table 3-7).
 */
function sequenceLength(buf: Uint8Array, i: number, end: number): number {
  const b0 = buf[i] as number;
  if (b0 < 0x80) return 1;
  if (b0 >= 0xc2 && b0 <= 0xdf) return cont(buf, i + 1, end) ? 2 : 0;
  if (b0 === 0xe0) return cont(buf, i + 1, end, 0xa0) && cont(buf, i + 2, end) ? 3 : 0;
  if ((b0 >= 0xe1 && b0 <= 0xec) || b0 === 0xee || b0 === 0xef) return cont(buf, i + 1, end) && cont(buf, i + 2, end) ? 3 : 0;
  if (b0 === 0xed) return cont(buf, i + 1, end, 0x80, 0x9f) && cont(buf, i + 2, end) ? 3 : 0;
  if (b0 === 0xf0) return cont(buf, i + 1, end, 0x90) && cont(buf, i + 2, end) && cont(buf, i + 3, end) ? 4 : 0;
  if (b0 >= 0xf1 && b0 <= 0xf3) return cont(buf, i + 1, end) && cont(buf, i + 2, end) && cont(buf, i + 3, end) ? 4 : 0;
  if (b0 === 0xf4) return cont(buf, i + 1, end, 0x80, 0x8f) && cont(buf, i + 2, end) && cont(buf, i + 3, end) ? 4 : 0;
  return 0;
}

/** True when buf[j] exists before end and lies in [lo, hi] (a continuation byte by default). */
function cont(buf: Uint8Array, j: number, end: number, lo = 0x80, hi = 0xbf): boolean {
  if (j >= end) return false;
  const b = buf[j] as number;
  return b >= lo && b <= hi;
}

/** True for a C0 control, DEL, or the lead byte of a C1 control (U+0080..U+009F is C2 80..C2 9F). */
function isControl(buf: Uint8Array, i: number, end: number): boolean {
  const b = buf[i] as number;
  if (b < 0x20 || b === 0x7f) return true;
  return b === 0xc2 && i + 1 < end && (buf[i + 1] as number) <= 0x9f;
}

/** True when buf[start, end) must be escaped: ill-formed UTF-8, holding `\x` (or a control). */
function needsEscaping(buf: Uint8Array, start: number, end: number, controls: boolean): boolean {
  for (let i = start; i < end; ) {
    const b = buf[i] as number;
    if (controls && isControl(buf, i, end)) return true;
    if (b < 0x80) {
      if (b === BACKSLASH && i + 1 < end && buf[i + 1] === LOWER_X) return true;
      i += 1;
      continue;
    }
    const n = sequenceLength(buf, i, end);
    if (n === 0) return true;
    i += n;
  }
  return false;
}

/** The text of the bytes buf[start, end) (see the top of this file). */
export function decodeKernelText(buf: Buffer, start = 0, end = buf.length): string {
  return decodeText(buf, start, end, false);
}

/**
 * Like decodeKernelText, and control characters (C0, DEL, C1) escaped as well, each byte as
 * `\xHH`: for text from the wire (LLDP names and descriptions) that may reach a terminal. Still
 * lossless: encodeKernelText gives the bytes back.
 */
export function decodeWireText(buf: Buffer, start = 0, end = buf.length): string {
  return decodeText(buf, start, end, true);
}

function decodeText(buf: Buffer, start: number, end: number, controls: boolean): string {
  if (!needsEscaping(buf, start, end, controls)) return buf.toString('utf8', start, end);
  let text = '';
  let run = start; // start of the well-formed stretch not yet appended
  for (let i = start; i < end; ) {
    const b = buf[i] as number;
    const n = b === BACKSLASH || (controls && isControl(buf, i, end)) ? 0 : sequenceLength(buf, i, end);
    if (n !== 0) {
      i += n;
      continue;
    }
    if (run < i) text += buf.toString('utf8', run, i);
    text += b === BACKSLASH ? '\\\\' : '\\x' + HEX[b >> 4] + HEX[b & 15];
    i += 1;
    run = i;
  }
  if (run < end) text += buf.toString('utf8', run, end);
  return text;
}

/**
 * The bytes a text from decodeKernelText stands for (its inverse): what to give the kernel, or
 * a shell (`printf`), to name the same device. Throws RangeError for text decodeKernelText
 * never gives (a stray backslash in escaped text).
 */
export function encodeKernelText(text: string): Buffer {
  if (!text.includes('\\x')) return Buffer.from(text, 'utf8');
  const parts: Buffer[] = [];
  let run = 0;
  for (let i = 0; i < text.length; ) {
    if (text.charCodeAt(i) !== BACKSLASH) {
      i += 1;
      continue;
    }
    if (run < i) parts.push(Buffer.from(text.slice(run, i), 'utf8'));
    const next = text[i + 1];
    if (next === '\\') {
      parts.push(Buffer.from([BACKSLASH]));
      i += 2;
    } else if (next === 'x' && /^[0-9a-f]{2}$/.test(text.slice(i + 2, i + 4))) {
      parts.push(Buffer.from([parseInt(text.slice(i + 2, i + 4), 16)]));
      i += 4;
    } else {
      throw new RangeError(`not an escaped kernel text: stray backslash at ${i}`);
    }
    run = i;
  }
  if (run < text.length) parts.push(Buffer.from(text.slice(run), 'utf8'));
  return Buffer.concat(parts);
}
