// The transport (src/netlink/) is a layer below the runtime's settings: it never imports V8 or GC
// tuning; the wiring (main.ts) hands the sockets' receive rounds to the young generation.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const NETLINK = fileURLToPath(new URL('../../src/netlink/', import.meta.url));

test('no module of the transport imports the V8 settings or the young generation', () => {
  const files = readdirSync(NETLINK).filter((f) => f.endsWith('.js'));
  assert.ok(files.includes('socket.js'), `the built transport is there: ${files.join(' ')}`);
  for (const file of files) {
    const text = readFileSync(NETLINK + file, 'utf8');
    for (const module of ['young-generation.js', 'v8-flags.js']) {
      assert.ok(!text.includes(module), `src/netlink/${file} imports ${module}`);
    }
  }
});
