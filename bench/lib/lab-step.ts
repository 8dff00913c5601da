// The entry of a bench step that run.ts starts inside a lab namespace: its configuration as one
// JSON argument, exit 0 when main resolves, 1 (with the stack) when it rejects, 2 without an argument.
export function runLabStep<T>(script: string, main: (config: T) => Promise<void>): void {
  const arg = process.argv[2];
  if (arg === undefined) {
    process.stderr.write(`usage: ${script} CONFIG_JSON (started by run.js inside a lab namespace)\n`);
    process.exit(2);
  }
  main(JSON.parse(arg) as T).then(
    () => process.exit(0),
    (error: unknown) => {
      process.stderr.write(`bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exit(1);
    },
  );
}
