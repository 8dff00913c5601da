// Preload for `node --import <this file> dist/src/main.js`: records every module the process
// loads, as file:/node: URLs one per line, in the file named by $LSE_MODULE_TRACE. ES modules
// are seen by a resolve hook (module-trace-hooks.ts, on Node's hooks thread); CommonJS modules
// (required by packages, which bypass ESM hooks) are listed from require.cache, and built-in
// modules from process.moduleLoadList, when the process exits.
import { appendFileSync } from 'node:fs';
import { createRequire, register } from 'node:module';
import { pathToFileURL } from 'node:url';

const file = process.env['LSE_MODULE_TRACE'];
if (file === undefined || file === '') throw new Error('module-trace: set LSE_MODULE_TRACE to the output file');

register('./module-trace-hooks.js', { parentURL: import.meta.url, data: { file } });

process.on('exit', () => {
  const cache = createRequire(import.meta.url).cache;
  const lines = Object.keys(cache).map((path) => pathToFileURL(path).href);
  const builtins = (process as unknown as { moduleLoadList: string[] }).moduleLoadList;
  for (const entry of builtins) if (entry.startsWith('NativeModule ')) lines.push(`node:${entry.slice('NativeModule '.length)}`);
  appendFileSync(file, `${lines.join('\n')}\n`);
});
