// The flags the built exporter accepts, read from its own --help, so that the shipped
// deployment files (systemd environment file, DaemonSet args) are checked against the real CLI.
import { execFileSync } from 'node:child_process';
import { repoPath } from './repo.js';

export const BUILT_MAIN = repoPath('dist/src/main.js');

/** Long flag names ("--web.listen-address", ...) listed by `node dist/src/main.js --help`. */
export function exporterFlags(): Set<string> {
  const help = execFileSync(process.execPath, [BUILT_MAIN, '--help'], { encoding: 'utf8', timeout: 20_000 });
  return new Set([...help.matchAll(/(?<![\w.-])--[a-z][\w.-]*/g)].map((match) => match[0].replace(/\.+$/, '')));
}

/** "--name=value" or "--name" → "--name". */
export function flagName(arg: string): string {
  const eq = arg.indexOf('=');
  return eq === -1 ? arg : arg.slice(0, eq);
}

/** The value of "--name=value" in args, if present. */
export function flagValue(args: readonly string[], name: string): string | undefined {
  for (const arg of args) if (arg.startsWith(`${name}=`)) return arg.slice(name.length + 1);
  return undefined;
}
