// koffi, loaded from the prebuilt binary of its platform package (@koromix/koffi-<platform>-<arch>,
// an optional dependency of koffi's). koffi's index reads the running node's ELF header and wraps
// a few functions in deprecation warnings before it hands out the same binary, at a cost in
// resident memory (docs/design.md, Measured trade-offs). The binary's exports are koffi's whole
// API (the index adds only deprecated aliases: resolve, introspect, lib.cdecl/stdcall/...).
// When the binary for this platform is not where koffi ships it, or the platform needs koffi's
// own detection (ARM and RISC-V float ABIs, ppc64 endianness read from the ELF header), koffi's
// index is used.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fs } from '../runtime/builtins.js';

export type Koffi = typeof import('koffi');

const require = createRequire(import.meta.url);

/** koffi's names for the prebuilt binaries worth trying here, in koffi's own order. */
export function prebuiltTriplets(platform: string = process.platform, arch: string = process.arch): string[] {
  if (arch === 'arm' || arch === 'riscv32' || arch === 'riscv64' || arch === 'ppc64') return [];
  const triplets = [`${platform}_${arch}`];
  if (platform === 'linux') triplets.push(`musl_${arch}`);
  return triplets;
}

/** The directories koffi looks in for `triplet/koffi.node`: its platform package, then its own build. */
export function prebuiltRoots(platform: string = process.platform, arch: string = process.arch): string[] {
  const koffiRoot = dirname(require.resolve('koffi'));
  const roots: string[] = [];
  try {
    const fromKoffi = createRequire(join(koffiRoot, 'package.json'));
    roots.push(dirname(fromKoffi.resolve(`@koromix/koffi-${platform}-${arch}/package.json`)));
  } catch {
    // no platform package installed: a koffi built from source keeps its binary in build/koffi
  }
  roots.push(join(koffiRoot, 'build', 'koffi'));
  return roots;
}

export interface LoadedKoffi {
  readonly koffi: Koffi;
  /** From its prebuilt binary directly, or through its package index. */
  readonly from: 'prebuilt' | 'index';
}

/** koffi from the first of `triplets` whose binary loads and matches koffi's version, else its index. */
export function loadKoffi(triplets: readonly string[] = prebuiltTriplets()): LoadedKoffi {
  try {
    const koffiRoot = dirname(require.resolve('koffi'));
    const { version } = JSON.parse(fs.readFileSync(join(koffiRoot, 'package.json'), 'utf8')) as { version: string };
    for (const triplet of triplets) {
      for (const root of prebuiltRoots()) {
        let native: { version?: unknown };
        try {
          native = require(join(root, triplet, 'koffi.node')) as { version?: unknown };
        } catch {
          continue; // absent, or built for another libc: the next one, as koffi's index does
        }
        if (native.version !== version) return { koffi: require('koffi') as Koffi, from: 'index' }; // let the index say so
        return { koffi: native as unknown as Koffi, from: 'prebuilt' };
      }
    }
  } catch {
    // koffi's layout is not the one this knows: the index finds its binary
  }
  return { koffi: require('koffi') as Koffi, from: 'index' };
}

const loaded = loadKoffi();
export const koffi: Koffi = loaded.koffi;
export const koffiLoadedFrom: LoadedKoffi['from'] = loaded.from;
