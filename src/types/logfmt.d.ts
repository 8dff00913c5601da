// Types for the parts of the `logfmt` package (1.x, CommonJS, no bundled types) that we use.
// Node's ESM loader exposes only its default export (no named exports are detected).
declare module 'logfmt' {
  interface Logfmt {
    /** key=value pairs separated by spaces; values with spaces, '=', '"' or '\' are quoted. */
    stringify(data: Record<string, unknown>): string;
    /** Parses one logfmt line; bare keys become `true`. */
    parse(line: string): Record<string, string | boolean>;
  }
  const logfmt: Logfmt;
  export default logfmt;
}
