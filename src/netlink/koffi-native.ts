// koffi, loaded from the prebuilt binary it ships for this platform. koffi's package index
// (node_modules/koffi/index.js) first requires its install-time helpers, which load node:https,
// node:tls, node:crypto and node:zlib for a download this exporter never makes (resident memory
// for nothing: docs/design.md, Measured trade-offs); and then requires the same binary. The
// binary's exports are koffi's whole API (the index adds only deprecated aliases: handle,
// callback, lib.cdecl/stdcall/...).
// When the binary for this platform is not where koffi ships it, or the platform needs koffi's
// own detection (ARM and RISC-V float ABIs read from the ELF header), koffi's index is used.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

export type Koffi = typeof import('koffi');

const require = createRequire(import.meta.url);

/** koffi's names for the prebuilt binaries worth trying here, in koffi's own order. */
export function prebuiltTriplets(platform: string = process.platform, arch: string = process.arch): string[] {
  if (arch === 'arm' || arch === 'riscv32' || arch === 'riscv64') return [];
  const triplets = [`${platform}_${arch}`];
  if (platform === 'linux') triplets.push(`musl_${arch}`);
  return triplets;
}

export interface LoadedKoffi {
  readonly koffi: Koffi;
  /** From its prebuilt binary directly, or through its package index. */
  readonly from: 'prebuilt' | 'index';
}

/** koffi from the first of `triplets` whose binary loads and matches koffi's version, else its index. */
export function loadKoffi(triplets: readonly string[] = prebuiltTriplets()): LoadedKoffi {
  try {
    const root = dirname(require.resolve('koffi/package.json'));
    const { version } = require('koffi/package.json') as { version: string };
    for (const triplet of triplets) {
      let native: { version?: unknown };
      try {
        native = require(join(root, 'build', 'koffi', triplet, 'koffi.node')) as { version?: unknown };
      } catch {
        continue; // absent, or built for another libc: the next one, as koffi's index does
      }
      if (native.version !== version) break; // mismatched: let the index say so
      return { koffi: native as unknown as Koffi, from: 'prebuilt' };
    }
  } catch {
    // koffi's layout is not the one this knows: the index finds its binary
  }
  return { koffi: require('koffi') as Koffi, from: 'index' };
}

const loaded = loadKoffi();
export const koffi: Koffi = loaded.koffi;
export const koffiLoadedFrom: LoadedKoffi['from'] = loaded.from;
