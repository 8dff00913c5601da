// Log line formatting, logfmt or JSON: one string per line straight from the fields, with the
// formatted text of literal messages and keys cached; a line never splits, whatever the values.

import type { LogLevel } from '../cli/config.js';
import type { LogFields } from './logger.js';

// Messages are mostly literals: their formatted text is kept (a bounded number of them).
const MAX_CACHED_MSGS = 512;
const jsonMsgs = new Map<string, string>();

function cachedMsg(cache: Map<string, string>, msg: string, format: (s: string) => string): string {
  let text = cache.get(msg);
  if (text === undefined) {
    text = format(msg);
    if (cache.size < MAX_CACHED_MSGS && msg.length <= 200) cache.set(msg, text);
  }
  return text;
}

// ts, level and msg are the logger's: fields of those names do not repeat or forge them.
function isReserved(key: string): boolean {
  return key === 'ts' || key === 'level' || key === 'msg';
}

// ---------------------------------------------------------------------------------------------
// logfmt. Values are quoted when they hold a space, '=', '"' or '\' ('"' and '\' escaped) and
// "" stands for the empty string, as the `logfmt` package writes them; a value holding a control
// character, U+2028 or U+2029 is written as a JSON string instead, so a line never splits.
// Keys keep [A-Za-z0-9_.:-]; any other UTF-16 unit becomes '_'.

export function logfmtLine(ts: string, level: LogLevel, msg: unknown, fields: LogFields | undefined): string {
  // ' level=info msg="carrier changed"' and ' device=' are kept formatted: a storm's line is
  // then a handful of concatenations, each a string the garbage collector has to sweep.
  let line = 'ts=' + ts;
  if (typeof msg === 'string') {
    line += cachedMsg(LOGFMT_LEVEL_MSG[level], msg, (m) => ' level=' + level + ' msg=' + logfmtString(m));
  } else {
    line += ' level=' + level;
    const value = msg === undefined ? undefined : logfmtValue(msg);
    if (value !== undefined) line += ' msg=' + value;
  }
  if (fields !== undefined) {
    for (const key in fields) {
      if (!Object.hasOwn(fields, key) || isReserved(key)) continue;
      const value = logfmtValue(fields[key]);
      if (value !== undefined) line += cachedMsg(logfmtKeys, key, logfmtKeyPart) + value;
    }
  }
  return line + '\n';
}

const LOGFMT_LEVEL_MSG: Readonly<Record<LogLevel, Map<string, string>>> = { debug: new Map(), info: new Map(), warn: new Map(), error: new Map() };
const logfmtKeys = new Map<string, string>();
const logfmtKeyPart = (key: string): string => ' ' + logfmtKey(key) + '=';

const SAFE_KEY = /^[A-Za-z0-9_.:-]+$/;
const UNSAFE_KEY_CHAR = /[^A-Za-z0-9_.:-]/g;

function logfmtKey(key: string): string {
  if (SAFE_KEY.test(key)) return key;
  return key.replace(UNSAFE_KEY_CHAR, '_') || '_';
}

// eslint-disable-next-line no-control-regex
const LOGFMT_SPECIAL = /[\u0000-\u001f\u007f\u2028\u2029 ="\\]/;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f\u2028\u2029]/;
const QUOTE_OR_BACKSLASH = /["\\]/g;

function logfmtString(s: string): string {
  if (s === '') return '""';
  if (!LOGFMT_SPECIAL.test(s)) return s;
  if (CONTROL.test(s)) return JSON.stringify(s);
  return '"' + s.replace(QUOTE_OR_BACKSLASH, '\\$&') + '"';
}

/** How one format writes a string, an error and any other object. */
interface ValueFormat {
  string(s: string): string;
  error(e: Error): string;
  object(o: object): string | undefined;
}

/**
 * A field's value: numbers, booleans and bigints as JSON writes them (non-finite numbers are
 * null), the rest by the format; undefined leaves the field out (undefined, functions, symbols).
 */
function formatValue(value: unknown, format: ValueFormat): string | undefined {
  switch (typeof value) {
    case 'string':
      return format.string(value);
    case 'number':
      return Number.isFinite(value) ? String(value) : 'null';
    case 'boolean':
      return value ? 'true' : 'false';
    case 'bigint':
      return String(value);
    case 'object':
      if (value === null) return 'null';
      // Like go-kit: an error is logged by its message, without the stack.
      return value instanceof Error ? format.error(value) : format.object(value);
    default:
      return undefined;
  }
}

const LOGFMT_VALUES: ValueFormat = {
  string: logfmtString,
  error: (e) => logfmtString(String(e.message)),
  object(o) {
    const text = objectJson(o);
    if (text === undefined) return undefined;
    // toJSON() may give a primitive (a Date gives its ISO string): format that instead.
    const first = text.charCodeAt(0);
    if (first === 0x7b /* { */ || first === 0x5b /* [ */) return logfmtString(text);
    return logfmtValue(JSON.parse(text));
  },
};

function logfmtValue(value: unknown): string | undefined {
  return formatValue(value, LOGFMT_VALUES);
}

// ---------------------------------------------------------------------------------------------
// JSON: one object per line, as JSON.stringify writes it; non-finite numbers are null, a bigint
// is a bare integer, an error is its message.

export function jsonLine(ts: string, level: LogLevel, msg: unknown, fields: LogFields | undefined): string {
  let line = '{"ts":"' + ts + '","level":"' + level + '"';
  if (msg !== undefined) {
    const value = typeof msg === 'string' ? cachedMsg(jsonMsgs, msg, jsonString) : jsonValue(msg);
    if (value !== undefined) line += ',"msg":' + value;
  }
  if (fields !== undefined) {
    for (const key in fields) {
      if (!Object.hasOwn(fields, key) || isReserved(key)) continue;
      const value = jsonValue(fields[key]);
      if (value !== undefined) line += ',' + jsonString(key) + ':' + value;
    }
  }
  return line + '}\n';
}

// Characters JSON.stringify would escape (or might: any surrogate, in case it is a lone one).
// eslint-disable-next-line no-control-regex
const JSON_SPECIAL = /["\\\u0000-\u001f\ud800-\udfff]/;

function jsonString(s: string): string {
  return JSON_SPECIAL.test(s) ? JSON.stringify(s) : '"' + s + '"';
}

const JSON_VALUES: ValueFormat = {
  string: jsonString,
  error: (e) => JSON.stringify(String(e.message)),
  object: objectJson,
};

function jsonValue(value: unknown): string | undefined {
  return formatValue(value, JSON_VALUES);
}

/** JSON text of an object field; nested errors are their message; a cycle is "[Circular]". */
function objectJson(value: object): string | undefined {
  try {
    return JSON.stringify(value, nestedValue) as string | undefined;
  } catch {
    try {
      return safeJson(value, []);
    } catch {
      return '"[unserializable]"';
    }
  }
}

function nestedValue(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return String(value);
  if (value instanceof Error) return String(value.message);
  return value;
}

function safeJson(input: unknown, ancestors: object[]): string | undefined {
  let value = input;
  if (typeof value === 'object' && value !== null && typeof (value as { toJSON?: unknown }).toJSON === 'function') {
    value = (value as { toJSON(): unknown }).toJSON();
  }
  value = nestedValue('', value);
  if (typeof value !== 'object' || value === null) {
    return typeof value === 'number' && !Number.isFinite(value) ? 'null' : (JSON.stringify(value) as string | undefined);
  }
  if (ancestors.includes(value)) return '"[Circular]"';
  ancestors.push(value);
  let text: string;
  if (Array.isArray(value)) {
    text = '[' + value.map((item: unknown) => safeJson(item, ancestors) ?? 'null').join(',') + ']';
  } else {
    const parts: string[] = [];
    for (const [key, item] of Object.entries(value)) {
      const itemText = safeJson(item, ancestors);
      if (itemText !== undefined) parts.push(JSON.stringify(key) + ':' + itemText);
    }
    text = '{' + parts.join(',') + '}';
  }
  ancestors.pop();
  return text;
}
