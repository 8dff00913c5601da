// src/netlink/koffi-native.ts loads koffi's prebuilt binary from its platform package without
// koffi's index (which costs resident memory for ELF detection and deprecation wrappers). These
// tests fail if a koffi upgrade moves the binary (the exporter would quietly fall back to the
// index and its cost), if the binary's API is not the index's, or if the fallback breaks.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { test } from 'node:test';
import { koffi, koffiLoadedFrom, loadKoffi, prebuiltRoots, prebuiltTriplets } from '../../src/netlink/koffi-native.js';

const require = createRequire(import.meta.url);

test('the triplets tried are koffi\'s names, glibc first then musl on Linux; none where koffi reads the ELF float ABI', () => {
  assert.deepEqual(prebuiltTriplets('linux', 'x64'), ['linux_x64', 'musl_x64']);
  assert.deepEqual(prebuiltTriplets('linux', 'arm64'), ['linux_arm64', 'musl_arm64']);
  assert.deepEqual(prebuiltTriplets('darwin', 'arm64'), ['darwin_arm64']);
  assert.deepEqual(prebuiltTriplets('linux', 'arm'), []);
  assert.deepEqual(prebuiltTriplets('linux', 'riscv64'), []);
  assert.deepEqual(prebuiltTriplets('linux', 'ppc64'), []);
});

test('koffi ships a binary for each triplet tried on this machine, and the exporter loads it directly', () => {
  const triplets = prebuiltTriplets();
  assert.ok(triplets.length > 0, `${process.platform}_${process.arch} has a prebuilt triplet`);
  const platformPackage = prebuiltRoots()[0] ?? '';
  assert.ok(platformPackage.includes(`/@koromix/koffi-${process.platform}-${process.arch}`), `koffi's platform package is installed: ${platformPackage}`);
  for (const t of triplets) assert.ok(existsSync(join(platformPackage, t, 'koffi.node')), `${platformPackage}/${t}/koffi.node`);
  assert.equal(koffiLoadedFrom, 'prebuilt');
});

test('the binary is the one koffi\'s index loads, with all of its API but the deprecated aliases', () => {
  const viaIndex = require('koffi') as Record<string, unknown>;
  const native = koffi as unknown as Record<string, unknown>;
  assert.equal(native['version'], viaIndex['version']);
  // replaced by the index with deprecation wrappers (koffi 3)
  const deprecated = new Set(['register', 'resolve', 'introspect']);
  for (const name of Object.keys(viaIndex)) {
    if (deprecated.has(name) || name === 'load') continue;
    if (name === 'default') {
      assert.equal(viaIndex[name], native, 'koffi\'s default export is the binary');
      continue;
    }
    assert.equal(native[name], viaIndex[name], `koffi.${name} is the binary's own`);
  }
  assert.equal(typeof native['load'], 'function');
  // The calls libc.ts makes, through the binary.
  const lib = koffi.load('libc.so.6');
  const getpid = lib.func('int getpid(void)') as () => number;
  assert.equal(getpid(), process.pid);
  const pointer = koffi.sizeof('void *');
  assert.equal(pointer, process.arch.endsWith('64') ? 8 : 4);
  const s = koffi.struct('koffi_native_test_pair', { a: 'uint32_t', b: 'void *' });
  assert.equal(koffi.offsetof(s, 'b'), pointer);
});

test('falls back to the index when no binary is where it looks', () => {
  const fallback = loadKoffi(['nowhere_none']);
  assert.equal(fallback.from, 'index');
  assert.equal(fallback.koffi.sizeof('int'), 4);
  assert.equal(loadKoffi([]).from, 'index');
});
