// Containerfile: no container engine exists on the test machines, so the recipe is checked for
// what can be checked without building it: official Node.js base image of a supported major,
// every file it copies exists (and is not excluded by .containerignore), the build stage gets what
// `npm run build` needs, the entry point is the package's bin, and the image runs as non-root.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { posix } from 'node:path';
import { test } from 'node:test';
import { readRepoFile, repoPath } from '../helpers/repo.js';

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
const pkg = (): { bin: Record<string, string>; engines: { node: string }; scripts: Record<string, string> } =>
  JSON.parse(readRepoFile('package.json'));

test('every stage builds on the official Node.js image, of a major the package supports', () => {
  const { stages } = parseStages(containerfile());
  assert.ok(stages.length >= 2, 'multi-stage');
  const minimum = Number(/>=\s*(\d+)/.exec(pkg().engines.node)?.[1]);
  assert.ok(minimum >= 20);
  for (const stage of stages) {
    const match = /^(?:docker\.io\/library\/)?node:(\d+)(?:[-.][\w.-]*)?$/.exec(stage.image);
    assert.ok(match, `official node image: ${stage.image}`);
    assert.ok(Number(match[1]) >= minimum, `${stage.image} satisfies engines.node ${pkg().engines.node}`);
  }
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

test('the build stage copies every file `npm run build` reads before running it', () => {
  const { stages } = parseStages(containerfile());
  const build = stages.find((stage) => stage.instructions.some((i) => i.op === 'RUN' && /\bnpm run build\b/.test(i.args)));
  assert.ok(build, 'a stage runs npm run build');
  const copied: string[] = [];
  for (const { op, args } of build.instructions) {
    if (op === 'RUN' && /\bnpm run build\b/.test(args)) break;
    if (op === 'COPY') copied.push(...parseCopy(args).sources);
  }
  // Files named in the build script (tsconfig.json, scripts/…), plus the sources and the lock.
  const needed = [...pkg().scripts['build']!.matchAll(/[\w./-]+\.(?:json|mjs|js|cjs)\b/g)].map((m) => m[0]);
  assert.ok(needed.length > 0, `build script: ${pkg().scripts['build']}`);
  for (const file of [...needed, 'src', 'package.json', 'package-lock.json']) {
    assert.ok(copied.includes(file), `build stage copies ${file} before npm run build (copied: ${copied.join(' ')})`);
  }
});

test('the entry point runs the package bin, and the runtime stage contains it', () => {
  const { stages } = parseStages(containerfile());
  const final = stages[stages.length - 1]!;
  const entry = final.instructions.filter((i) => i.op === 'ENTRYPOINT');
  assert.equal(entry.length, 1, 'one ENTRYPOINT in the final stage');
  const argv = JSON.parse(entry[0]!.args) as string[];
  assert.equal(argv[0], 'node', 'exec form, run by node');
  const workdir = final.instructions.filter((i) => i.op === 'WORKDIR').pop()?.args;
  assert.ok(workdir !== undefined && workdir.startsWith('/'), 'an absolute WORKDIR');
  const script = posix.resolve(workdir, argv[1]!);
  const bins = Object.entries(pkg().bin);
  assert.deepEqual(bins.map(([name]) => name), ['linkstate-exporter']);
  assert.equal(script, posix.join(workdir, bins[0]![1]), `entry point ${script} is the bin ${bins[0]![1]}`);
  // The runtime stage copies the compiled directory holding the bin, and the dependencies.
  const copies = final.instructions.filter((i) => i.op === 'COPY').map((i) => parseCopy(i.args));
  assert.ok(
    copies.some((c) => c.from !== undefined && script.startsWith(posix.resolve(workdir, c.dest) + '/')),
    `a COPY --from puts ${script} into the image`,
  );
  assert.ok(copies.some((c) => posix.resolve(workdir, c.dest) === posix.join(workdir, 'node_modules')), 'node_modules copied');
  assert.ok(existsSync(repoPath(bins[0]![1].replace(/^dist\//, '').replace(/\.js$/, '.ts'))), 'the bin has a TypeScript source');
});

test('the image runs as a numeric non-root user and exposes the default port', () => {
  const { stages } = parseStages(containerfile());
  const final = stages[stages.length - 1]!;
  const user = final.instructions.filter((i) => i.op === 'USER').pop()?.args;
  assert.ok(user !== undefined, 'the final stage sets USER');
  const match = /^(\d+)(?::(\d+))?$/.exec(user);
  assert.ok(match, `USER ${user} is numeric (Kubernetes runAsNonRoot can only verify a number)`);
  assert.notEqual(Number(match[1]), 0, 'not root');
  if (match[2] !== undefined) assert.notEqual(Number(match[2]), 0, 'not group root');
  assert.ok(final.instructions.some((i) => i.op === 'EXPOSE' && i.args.split(/\s+/).includes('10071')));
});
