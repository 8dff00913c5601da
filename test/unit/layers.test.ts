// The codec folders import downwards only: netlink/ knows nothing of the folders built on it, and
// the rtnetlink and ethtool codecs know only netlink/. runtime/ (builtins, clock, logger) sits
// beneath every folder. The clients in rtnetlink/ and ethtool/ (monitors, the dump scheduler) wire
// codecs to the link table and the metrics, so they are not codecs and may reach further.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve, dirname } from 'node:path';
import { test } from 'node:test';
import { repoPath } from '../helpers/repo.js';

const root = repoPath('src');

/** Files of rtnetlink/ and ethtool/ that are clients, not codecs. */
const CLIENTS = new Set(['rtnetlink/link-monitor.ts', 'rtnetlink/dump-scheduler.ts', 'ethtool/monitor.ts', 'ethtool/request-pacer.ts']);

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

/** The src/ folders a file imports from (relative imports only), as 'netlink', 'runtime', ... */
function importedFolders(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const folders: string[] = [];
  for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^;]*?from\s+'(\.{1,2}\/[^']+)'/g)) {
    const target = relative(root, resolve(dirname(file), m[1] as string));
    folders.push(target.includes('/') ? (target.split('/')[0] as string) : '.');
  }
  return folders;
}

function offenders(folders: readonly string[], allowed: ReadonlySet<string>, skip: ReadonlySet<string> = new Set()): string[] {
  const found: string[] = [];
  for (const folder of folders) {
    for (const file of sources(join(root, folder))) {
      const name = relative(root, file);
      if (skip.has(name)) continue;
      for (const imported of importedFolders(file)) if (!allowed.has(imported)) found.push(`${name} imports ${imported}/`);
    }
  }
  return found;
}

test('no file of src/netlink/ imports from a folder built on it', () => {
  assert.deepEqual(offenders(['netlink'], new Set(['netlink', 'runtime'])), []);
});

test('the rtnetlink and ethtool codecs import netlink/ only, besides their own folder', () => {
  assert.deepEqual(offenders(['rtnetlink'], new Set(['rtnetlink', 'netlink']), CLIENTS), []);
  assert.deepEqual(offenders(['ethtool'], new Set(['ethtool', 'netlink']), CLIENTS), []);
});

test('the clients named as exceptions exist (a renamed client must not silently become a codec)', () => {
  for (const name of CLIENTS) assert.ok(sources(root).some((f) => relative(root, f) === name), `${name} is missing`);
});

test('src/netlink/constants.ts holds netlink-level numbers only; rtnetlink ones live in rtnetlink/', () => {
  const text = readFileSync(join(root, 'netlink/constants.ts'), 'utf8');
  const rtnetlinkNames = [...text.matchAll(/^export const ((?:RTM|RTMGRP|RTNLGRP|IFLA|IFF|IF_OPER|BR_STATE|AF_UNSPEC|AF_BRIDGE|IFINFOMSG|RTGENMSG)\w*)/gm)].map((m) => m[1]);
  assert.deepEqual(rtnetlinkNames, []);
});

test('the import scan sees imports (a scan that finds nothing proves nothing)', () => {
  assert.ok(importedFolders(join(root, 'rtnetlink/link.ts')).includes('netlink'));
  assert.ok(importedFolders(join(root, 'cli/run.ts')).length > 5);
});

test('errno values are named in one place: src/netlink/constants.ts', () => {
  const found: string[] = [];
  for (const file of sources(root)) {
    const name = relative(root, file);
    if (name === 'netlink/constants.ts') continue;
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/\bconst (E[A-Z]{2,}) = \d+/g)) found.push(`${name}: ${m[1]}`);
    // A negated errno compared bare (-1 is an nsid or a failed call, not an errno).
    for (const m of text.matchAll(/[!=]==? -([2-9]|[1-9]\d{1,2})\b/g)) found.push(`${name}: -${m[1]}`);
  }
  assert.deepEqual(found, []);
});
