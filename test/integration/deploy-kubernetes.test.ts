// deploy/kubernetes: every object is validated against the Kubernetes (and Prometheus operator)
// schemas with kubernetes-models, and the properties that matter for this exporter are asserted.
// The components' JSON 6902 patches are applied here to the base objects (as kustomize applies
// them) and the results validated and asserted the same way, and so are the kustomization's
// images transformer and the kube-prometheus-stack component's label transformer; the
// web-config component's DaemonSet is then run (the exporter with its flags and the example web
// config) and probed as the kubelet probes it.
// Note: the schemas accept unknown fields, so the fields we rely on are asserted by name below.
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse } from 'yaml';
import { DaemonSet } from 'kubernetes-models/apps/v1';
import { Service } from 'kubernetes-models/v1';
import { PrometheusRule, ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';
import { BUILT_MAIN, exporterFlags, flagName, flagValue } from '../helpers/exporter-flags.js';
import { createNetns, enterNetns, requireRoot } from '../helpers/netns.js';
import { TestPki } from '../helpers/test-certs.js';
import {
  NET_ADMIN_AND_BROADCAST,
  assertExportsPeer,
  capabilitySet,
  missingCapabilitiesLine,
  runToExit,
  startPrivileged,
  withNetnsLab,
} from '../helpers/netns-privileges.js';
import { readRepoFile, repoPath, requireCommand, waitFor } from '../helpers/repo.js';

const DIR = 'deploy/kubernetes';

function load<T>(file: string): T {
  return parse(readRepoFile(DIR, file)) as T;
}

/** A Kubernetes quantity ("20m", "64Mi", "1", "0.5", "1G") in base units. */
function quantity(text: string): number {
  const match = /^(\d+(?:\.\d+)?)(m|k|M|G|T|Ki|Mi|Gi|Ti)?$/.exec(text);
  assert.ok(match, `quantity ${text}`);
  const factors: Record<string, number> = { m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40 };
  return Number(match[1]) * (match[2] === undefined ? 1 : factors[match[2]]!);
}

// Typed loosely: the tests read the parsed YAML, and the models validate it.
/* eslint-disable @typescript-eslint/no-explicit-any */
type Obj = any;

const daemonSet = (): Obj => load('daemonset.yaml');
const container = (ds: Obj): Obj => {
  const containers = ds.spec.template.spec.containers as Obj[];
  assert.equal(containers.length, 1, 'one container');
  return containers[0];
};

/** A container run as root with every capability dropped but `add`, unprivileged, read-only. */
function assertRootWithOnly(c: Obj, add: readonly string[]): void {
  const sc = c.securityContext;
  assert.deepEqual([...sc.capabilities.add].sort(), [...add].sort());
  assert.deepEqual(sc.capabilities.drop, ['ALL']);
  assert.equal(sc.runAsUser, 0);
  assert.equal(sc.runAsNonRoot, false);
  assert.equal(sc.allowPrivilegeEscalation, false);
  assert.equal(sc.privileged, false);
  assert.equal(sc.readOnlyRootFilesystem, true);
}

test('kustomization.yaml lists every manifest in the folder, and they exist', () => {
  const kustomization = load<Obj>('kustomization.yaml');
  assert.equal(kustomization.apiVersion, 'kustomize.config.k8s.io/v1beta1');
  assert.equal(kustomization.kind, 'Kustomization');
  const manifests = readdirSync(repoPath(DIR))
    .filter((file) => file.endsWith('.yaml') && file !== 'kustomization.yaml')
    .sort();
  assert.deepEqual([...kustomization.resources].sort(), manifests);
  for (const file of kustomization.resources as string[]) assert.ok(existsSync(repoPath(DIR, file)), file);
});

/** The image name of a reference, without its tag or digest ("a/b:1" → "a/b", "host:5000/b" stays). */
function imageName(reference: string): string {
  return reference.replace(/@.*$/, '').replace(/:[^/:]+$/, '');
}

/**
 * kustomize's images transformer for the DaemonSet's containers: an entry whose name is the
 * container image's name (without tag) replaces the name with newName and the tag with newTag.
 */
function applyImages(ds: Obj, images: readonly Obj[]): Obj {
  const out = structuredClone(ds);
  for (const c of out.spec.template.spec.containers as Obj[]) {
    const entry = images.find((image) => image.name === imageName(String(c.image)));
    if (entry === undefined) continue;
    const tag = /:([^/:]+)$/.exec(String(c.image).replace(/@.*$/, ''))?.[1];
    const newTag = entry.newTag ?? tag;
    c.image = `${entry.newName ?? entry.name}${newTag === undefined ? '' : `:${newTag}`}`;
  }
  return out;
}

test('the image is named once, in kustomization.yaml images:, and defaults to what podman load of the release gives', () => {
  const kustomization = load<Obj>('kustomization.yaml');
  const images = kustomization.images as Obj[];
  assert.equal(images.length, 1, 'one images entry');
  const [entry] = images;
  // The DaemonSet names the image without registry or tag; the transformer supplies both.
  const image = String(container(daemonSet()).image);
  assert.equal(image, 'linkstate-exporter', 'the DaemonSet names the bare image, no tag of its own');
  assert.equal(entry.name, imageName(image), 'the images entry names the image the DaemonSet uses, or it silently does nothing');
  const pkg = JSON.parse(readRepoFile('package.json')) as { version: string };
  const rendered = container(applyImages(daemonSet(), images)).image;
  assert.equal(rendered, `localhost/linkstate-exporter:${pkg.version}`, 'the OCI archive of this version, as podman load names it');
  assert.equal(container(daemonSet()).imagePullPolicy, 'IfNotPresent', 'an image loaded on the node is used without a pull');
  // The transformer is real: a user's override takes effect.
  const override = [{ name: entry.name, newName: 'registry.example.org/team/linkstate-exporter', newTag: '9.9.9' }];
  assert.equal(container(applyImages(daemonSet(), override)).image, 'registry.example.org/team/linkstate-exporter:9.9.9');
  assert.equal(container(applyImages(daemonSet(), [{ name: 'other', newTag: '1' }])).image, image);
  // An overlay sees the base already rendered: its images entry names localhost/linkstate-exporter
  // (docs/operations.md says so; kustomize 5.5 renders it this way).
  const overlay = [{ name: entry.newName, newName: 'registry.example.org/team/linkstate-exporter', newTag: '9.9.9' }];
  assert.equal(container(applyImages(applyImages(daemonSet(), images), overlay)).image, 'registry.example.org/team/linkstate-exporter:9.9.9');
  assert.equal(container(applyImages(applyImages(daemonSet(), images), override)).image, rendered, 'the bare name no longer matches in an overlay');
});

test('the DaemonSet runs only on Linux nodes, at a system-critical priority', () => {
  const pod = daemonSet().spec.template.spec;
  assert.deepEqual(pod.nodeSelector, { 'kubernetes.io/os': 'linux' });
  assert.equal(pod.priorityClassName, 'system-cluster-critical');
  // Still on every Linux node, tainted or not.
  assert.deepEqual(pod.tolerations, [{ operator: 'Exists' }]);
});

test('the DaemonSet is a valid apps/v1 DaemonSet', () => {
  assert.doesNotThrow(() => new DaemonSet(daemonSet()).validate());
});

test('validation is real: a broken DaemonSet is rejected', () => {
  const broken = daemonSet();
  container(broken).ports[0].containerPort = 'metrics';
  assert.throws(() => new DaemonSet(broken).validate(), /containerPort must be integer/);
  const noSelector = daemonSet();
  delete noSelector.spec.selector;
  assert.throws(() => new DaemonSet(noSelector).validate(), /selector/);
});

test('the DaemonSet runs on the host network, non-root, read-only, with no capabilities', () => {
  const ds = daemonSet();
  const pod = ds.spec.template.spec;
  const c = container(ds);
  assert.equal(pod.hostNetwork, true, 'hostNetwork: it must see the node links');
  assert.equal(pod.dnsPolicy, 'ClusterFirstWithHostNet');
  assert.equal(pod.hostPID ?? false, false);
  assert.equal(pod.automountServiceAccountToken, false, 'needs no API access');
  assert.equal(pod.securityContext.runAsNonRoot, true);
  assert.ok(Number.isInteger(pod.securityContext.runAsUser) && pod.securityContext.runAsUser > 0, 'numeric non-root uid');
  assert.equal(pod.securityContext.seccompProfile?.type, 'RuntimeDefault');
  assert.equal(c.securityContext.runAsNonRoot, true);
  assert.equal(c.securityContext.readOnlyRootFilesystem, true);
  assert.equal(c.securityContext.allowPrivilegeEscalation, false);
  assert.equal(c.securityContext.privileged ?? false, false);
  assert.deepEqual(c.securityContext.capabilities.drop, ['ALL']);
  assert.equal(c.securityContext.capabilities.add, undefined, 'adds no capability');
  // The selector selects the pods it creates.
  for (const [key, value] of Object.entries(ds.spec.selector.matchLabels as Record<string, string>)) {
    assert.equal(ds.spec.template.metadata.labels[key], value, `pod label ${key}`);
  }
});

test('the DaemonSet probes /-/ready and /-/healthy on the port the exporter listens on', () => {
  const c = container(daemonSet());
  const port = c.ports.find((p: Obj) => p.name === c.readinessProbe.httpGet.port);
  assert.ok(port, 'the probes use a named container port');
  assert.equal(c.readinessProbe.httpGet.path, '/-/ready');
  assert.equal(c.livenessProbe.httpGet.path, '/-/healthy');
  assert.equal(c.livenessProbe.httpGet.port, c.readinessProbe.httpGet.port);
  assert.equal(port.hostPort, port.containerPort, 'hostNetwork needs hostPort == containerPort');
  const listen = flagValue(c.args as string[], '--web.listen-address');
  assert.ok(listen !== undefined, '--web.listen-address is set');
  assert.equal(Number(listen.slice(listen.lastIndexOf(':') + 1)), port.containerPort);
  assert.ok(!listen.startsWith('127.') && !listen.startsWith('localhost'), 'kubelet probes reach it');
});

test('the DaemonSet sets CPU and memory requests and limits, requests below limits', () => {
  const { requests, limits } = container(daemonSet()).resources;
  for (const resource of ['cpu', 'memory']) {
    assert.ok(requests?.[resource] !== undefined && limits?.[resource] !== undefined, `${resource} request and limit`);
    assert.ok(quantity(requests[resource]) <= quantity(limits[resource]), `${resource}: request <= limit`);
  }
  assert.ok(quantity(limits.memory) >= 128 * 2 ** 20, 'a Node.js process needs at least 128Mi');
});

test('the DaemonSet passes only flags the built exporter knows', () => {
  const known = exporterFlags();
  assert.ok(known.has('--web.listen-address'), `--help lists the flags: ${[...known].join(' ')}`);
  for (const arg of container(daemonSet()).args as string[]) assert.ok(known.has(flagName(arg)), `unknown flag ${arg}`);
});

test('the Service is valid and selects the DaemonSet pods by their metrics port', () => {
  const service = load<Obj>('service.yaml');
  assert.doesNotThrow(() => new Service(service).validate());
  const ds = daemonSet();
  for (const [key, value] of Object.entries(service.spec.selector as Record<string, string>)) {
    assert.equal(ds.spec.template.metadata.labels[key], value, `pod label ${key}`);
  }
  const port = service.spec.ports.find((p: Obj) => p.name === 'metrics');
  assert.ok(port);
  assert.ok(container(ds).ports.some((p: Obj) => p.name === port.targetPort));
  // The Service name becomes the job label: LinkStateExporterDown watches up{job=~"linkstate-exporter.*"}.
  assert.match(service.metadata.name, /^linkstate-exporter/);
});

test('the ServiceMonitor is valid and scrapes the Service port and the telemetry path', () => {
  const monitor = load<Obj>('servicemonitor.yaml');
  assert.doesNotThrow(() => new ServiceMonitor(monitor).validate());
  const service = load<Obj>('service.yaml');
  for (const [key, value] of Object.entries(monitor.spec.selector.matchLabels as Record<string, string>)) {
    assert.equal(service.metadata.labels[key], value, `service label ${key}`);
  }
  const [endpoint, ...rest] = monitor.spec.endpoints as Obj[];
  assert.equal(rest.length, 0);
  assert.ok(service.spec.ports.some((p: Obj) => p.name === endpoint.port));
  const path = flagValue(container(daemonSet()).args as string[], '--web.telemetry-path') ?? '/metrics';
  assert.equal(endpoint.path, path);
});

test('the PrometheusRule is valid and carries exactly the groups of deploy/prometheus/alerts.yml', () => {
  const rule = load<Obj>('prometheusrule.yaml');
  assert.doesNotThrow(() => new PrometheusRule(rule).validate());
  const alerts = parse(readRepoFile('deploy/prometheus/alerts.yml')) as Obj;
  assert.deepEqual(rule.spec.groups, alerts.groups);
});

// ---- The kube-prometheus-stack component (deploy/kubernetes/components/kube-prometheus-stack) ----

const KPS = 'components/kube-prometheus-stack';

/** The manifests of the base kustomization, by kind. */
function baseResources(): Map<string, Obj> {
  const kustomization = load<Obj>('kustomization.yaml');
  return new Map((kustomization.resources as string[]).map((file) => {
    const doc = load<Obj>(file);
    return [String(doc.kind), doc];
  }));
}

/**
 * kustomize's builtin LabelTransformer: each fieldSpec (kind, path, create) names where the labels
 * go; a resource whose kind no fieldSpec names is left as it is.
 */
function applyLabelTransformer(resources: Map<string, Obj>, transformer: Obj): Map<string, Obj> {
  assert.equal(transformer.apiVersion, 'builtin');
  assert.equal(transformer.kind, 'LabelTransformer');
  const out = new Map([...resources].map(([kind, doc]) => [kind, structuredClone(doc)]));
  for (const spec of transformer.fieldSpecs as Obj[]) {
    for (const [kind, doc] of out) {
      if (spec.kind !== undefined && spec.kind !== kind) continue;
      if (spec.group !== undefined && String(doc.apiVersion).split('/')[0] !== spec.group) continue;
      let node: Obj = doc;
      for (const key of String(spec.path).split('/')) {
        if (node[key] === undefined) {
          if (spec.create !== true) { node = undefined; break; }
          node[key] = {};
        }
        node = node[key];
      }
      if (node !== undefined) Object.assign(node, transformer.labels);
    }
  }
  return out;
}

function kpsTransformer(): Obj {
  const component = load<Obj>(`${KPS}/kustomization.yaml`);
  assert.equal(component.apiVersion, 'kustomize.config.k8s.io/v1alpha1');
  assert.equal(component.kind, 'Component');
  const transformers = component.transformers as string[];
  assert.equal(transformers.length, 1, 'one transformer');
  assert.deepEqual(Object.keys(component).sort(), ['apiVersion', 'kind', 'transformers'], 'the component does nothing else');
  return load<Obj>(`${KPS}/${transformers[0]}`);
}

test('the kube-prometheus-stack component sets release: on the ServiceMonitor and the PrometheusRule only', () => {
  const transformer = kpsTransformer();
  assert.deepEqual(Object.keys(transformer.labels), ['release'], 'the one label kube-prometheus-stack selects on');
  assert.equal(transformer.labels.release, 'kube-prometheus-stack', 'the chart name, the usual Helm release name');
  const before = baseResources();
  assert.deepEqual([...before.keys()].sort(), ['DaemonSet', 'PrometheusRule', 'Service', 'ServiceMonitor']);
  const after = applyLabelTransformer(before, transformer);
  for (const kind of ['ServiceMonitor', 'PrometheusRule']) {
    const doc = after.get(kind)!;
    assert.equal(doc.metadata.labels.release, 'kube-prometheus-stack', `${kind} carries release`);
    // Only the label is added: everything else is the base's.
    const { release: _release, ...rest } = doc.metadata.labels;
    assert.deepEqual(rest, before.get(kind)!.metadata.labels, `${kind}: the base labels stay`);
    assert.deepEqual(doc.spec, before.get(kind)!.spec, `${kind}: spec untouched`);
  }
  assert.doesNotThrow(() => new ServiceMonitor(after.get('ServiceMonitor')).validate());
  assert.doesNotThrow(() => new PrometheusRule(after.get('PrometheusRule')).validate());
  for (const kind of ['DaemonSet', 'Service']) assert.deepEqual(after.get(kind), before.get(kind), `${kind} untouched`);
  // Without the component nothing carries it, and the base does not include it by default.
  for (const [kind, doc] of before) assert.equal(doc.metadata.labels.release, undefined, `${kind} without the component`);
  assert.equal(load<Obj>('kustomization.yaml').components, undefined);
});

test('the label transformer applier is real: a fieldSpec for another kind labels nothing', () => {
  const before = baseResources();
  const after = applyLabelTransformer(before, {
    apiVersion: 'builtin',
    kind: 'LabelTransformer',
    labels: { release: 'x' },
    fieldSpecs: [{ kind: 'PodMonitor', path: 'metadata/labels', create: true }],
  });
  assert.deepEqual(after, before);
  const created = applyLabelTransformer(before, {
    apiVersion: 'builtin',
    kind: 'LabelTransformer',
    labels: { release: 'x' },
    fieldSpecs: [{ kind: 'Service', path: 'metadata/annotations', create: true }],
  });
  assert.deepEqual(created.get('Service').metadata.annotations, { release: 'x' });
});

// ---- The netns component (deploy/kubernetes/components/netns) ----

const COMPONENT = 'components/netns';

type PatchOp = { op: 'add' | 'replace' | 'remove' | 'test'; path: string; value?: unknown };

/** RFC 6901 pointer → tokens. */
function pointer(path: string): string[] {
  assert.ok(path.startsWith('/'), `JSON pointer ${path}`);
  return path
    .slice(1)
    .split('/')
    .map((token) => token.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/** Applies an RFC 6902 patch (add, replace, remove, test) to a copy of doc, as kustomize does; throws where it would fail. */
function applyJson6902(doc: Obj, ops: readonly PatchOp[]): Obj {
  const out = structuredClone(doc);
  for (const op of ops) {
    const tokens = pointer(op.path);
    const last = tokens.pop()!;
    let parent: Obj = out;
    for (const token of tokens) {
      assert.ok(parent !== null && typeof parent === 'object' && token in parent, `${op.op} ${op.path}: ${token} does not exist`);
      parent = parent[token];
    }
    if (Array.isArray(parent)) {
      const index = last === '-' ? parent.length : Number(last);
      assert.ok(Number.isInteger(index) && index >= 0 && index <= parent.length, `${op.op} ${op.path}: index`);
      if (op.op === 'add') parent.splice(index, 0, structuredClone(op.value));
      else if (op.op === 'replace') (assert.ok(index < parent.length, op.path), (parent[index] = structuredClone(op.value)));
      else if (op.op === 'remove') parent.splice(index, 1);
      else assert.deepEqual(parent[index], op.value, `test ${op.path}`);
    } else {
      assert.ok(parent !== null && typeof parent === 'object', `${op.op} ${op.path}: no object`);
      if (op.op === 'add') parent[last] = structuredClone(op.value);
      else if (op.op === 'replace') (assert.ok(last in parent, `replace ${op.path}: missing`), (parent[last] = structuredClone(op.value)));
      else if (op.op === 'remove') (assert.ok(last in parent, `remove ${op.path}: missing`), delete parent[last]);
      else assert.deepEqual(parent[last], op.value, `test ${op.path}`);
    }
  }
  return out;
}

/** The base DaemonSet with the component's patches applied (after checking they target it). */
function netnsDaemonSet(componentDir = COMPONENT): Obj {
  const component = load<Obj>(`${componentDir}/kustomization.yaml`);
  assert.equal(component.apiVersion, 'kustomize.config.k8s.io/v1alpha1');
  assert.equal(component.kind, 'Component');
  const base = daemonSet();
  const patches = component.patches as Obj[];
  assert.equal(patches.length, 1, 'one patch');
  const { path, target } = patches[0];
  assert.deepEqual(target, { group: 'apps', version: 'v1', kind: 'DaemonSet', name: base.metadata.name }, 'the patch targets the DaemonSet');
  const ops = load<PatchOp[]>(`${componentDir}/${path}`);
  assert.ok(Array.isArray(ops) && ops.every((op) => ['add', 'replace', 'remove', 'test'].includes(op.op)), 'a JSON 6902 patch');
  return applyJson6902(base, ops);
}

test('the patch applier is real: a test op that does not hold and a missing path are refused', () => {
  const base = daemonSet();
  assert.throws(() => applyJson6902(base, [{ op: 'test', path: '/spec/template/spec/containers/0/name', value: 'other' }]));
  assert.throws(() => applyJson6902(base, [{ op: 'add', path: '/spec/nothing/here', value: 1 }]));
  assert.deepEqual(applyJson6902(base, [{ op: 'add', path: '/spec/template/spec/containers/0/args/-', value: 'x' }]).spec.template.spec.containers[0].args.at(-1), 'x');
});

test('the netns component gives a valid DaemonSet', () => {
  assert.doesNotThrow(() => new DaemonSet(netnsDaemonSet()).validate());
  // The base itself is untouched by it, and the base kustomization does not include it by default.
  assert.equal(container(daemonSet()).securityContext.capabilities.add, undefined);
  assert.equal(load<Obj>('kustomization.yaml').components, undefined);
});

test('the netns component adds --collector.netns and exactly NET_ADMIN and NET_BROADCAST, still dropping ALL', () => {
  const ds = netnsDaemonSet();
  const c = container(ds);
  const args = c.args as string[];
  assert.deepEqual(args.filter((a) => flagName(a).startsWith('--collector.netns')), ['--collector.netns']);
  assert.deepEqual(args.slice(0, -1), container(daemonSet()).args, 'the base flags stay');
  const known = exporterFlags();
  for (const arg of args) assert.ok(known.has(flagName(arg)), `unknown flag ${arg}`);
  // Root in the container: Kubernetes sets no ambient capabilities, so a non-root process would
  // lose the added ones at exec (see the patch and the setpriv test below).
  assertRootWithOnly(c, ['NET_ADMIN', 'NET_BROADCAST']);
  const pod = ds.spec.template.spec;
  assert.equal(pod.hostNetwork, true);
  assert.equal(pod.hostPID ?? false, false);
  assert.equal(pod.securityContext.seccompProfile?.type, 'RuntimeDefault');
});

test('the netns component mounts /run/netns and /run/docker/netns read-only with HostToContainer propagation', () => {
  const ds = netnsDaemonSet();
  const c = container(ds);
  const volumes = new Map((ds.spec.template.spec.volumes as Obj[]).map((v) => [v.name, v]));
  const mounts = c.volumeMounts as Obj[];
  assert.deepEqual(mounts.map((m) => m.mountPath).sort(), ['/run/docker/netns', '/run/netns']);
  for (const mount of mounts) {
    assert.equal(mount.readOnly, true, `${mount.mountPath} readOnly`);
    assert.equal(mount.mountPropagation, 'HostToContainer', `${mount.mountPath} mountPropagation`);
    const volume = volumes.get(mount.name);
    assert.ok(volume, `volume ${mount.name}`);
    // The same path on the node as in the container, so the default --collector.netns.paths fit.
    assert.equal(volume.hostPath?.path, mount.mountPath);
    // DirectoryOrCreate: nodes without Docker (or before their first pod) must still run the pod.
    assert.equal(volume.hostPath?.type, 'DirectoryOrCreate', `${mount.mountPath} hostPath type`);
    assert.equal(mount.subPath, undefined);
  }
  assert.equal(volumes.size, mounts.length, 'no other volume');
  const paths = (flagValue(c.args as string[], '--collector.netns.paths') ?? '/run/netns,/run/docker/netns').split(',').sort();
  assert.deepEqual(paths, mounts.map((m) => m.mountPath).sort(), 'the exporter looks where the mounts are');
});

/** setpriv arguments for what a container runtime gives this container (no ambient set, as Kubernetes). */
function setprivLikeKubernetes(c: Obj, pod: Obj): string[] {
  const uid = c.securityContext.runAsUser ?? pod.securityContext.runAsUser;
  const gid = c.securityContext.runAsGroup ?? pod.securityContext.runAsGroup;
  assert.deepEqual(c.securityContext.capabilities.drop, ['ALL']);
  const add = ((c.securityContext.capabilities.add ?? []) as string[]).map((cap) => `,+${cap.toLowerCase()}`).join('');
  return [
    `--reuid=${uid}`,
    `--regid=${gid}`,
    '--clear-groups',
    ...(c.securityContext.allowPrivilegeEscalation === false ? ['--no-new-privs'] : []),
    `--inh-caps=-all`,
    `--bounding-set=-all${add}`,
  ];
}

test('as a container runtime runs the netns DaemonSet container, the exporter exports another namespace; as non-root it refuses', async (t) => {
  if (!requireRoot(t)) return;
  if (!requireCommand(t, 'setpriv', 'util-linux')) return;
  const ds = netnsDaemonSet();
  const c = container(ds);
  const pod = ds.spec.template.spec;
  await withNetnsLab('lse-k8snetns', async (lab) => {
    // The paths are the mounts' in the pod; here a private directory holds the lab's other namespace.
    const args = [...(c.args as string[]), `--collector.netns.paths=${lab.pathsDir}`];
    const exporter = await startPrivileged(lab, setprivLikeKubernetes(c, pod), args);
    try {
      assertExportsPeer(await exporter.metrics(), lab);
      const status = exporter.status();
      assert.equal(capabilitySet(status, 'CapEff'), NET_ADMIN_AND_BROADCAST, status);
      assert.equal(capabilitySet(status, 'CapBnd'), NET_ADMIN_AND_BROADCAST, status);
      assert.match(status, /^NoNewPrivs:\s+1$/m, status);
    } finally {
      await exporter.stop();
    }
    // The same container without runAsUser: 0 (the pod's non-root user): the added capabilities
    // are only in the bounding set after exec, and the exporter says so.
    const nonRoot = structuredClone(c);
    delete nonRoot.securityContext.runAsUser;
    const result = await runToExit(lab, setprivLikeKubernetes(nonRoot, pod), args);
    assert.equal(result.code, 1, result.stderr);
    assert.equal(result.stderr, `${missingCapabilitiesLine(['CAP_NET_ADMIN', 'CAP_NET_BROADCAST'])}\n`);
  });
});

// ---- The web-config component (deploy/kubernetes/components/web-config) ----

const WEB = 'components/web-config';

/** The base DaemonSet and ServiceMonitor with the named components' patches applied in order. */
function withComponents(...names: string[]): { ds: Obj; monitor: Obj } {
  const objects: Record<string, Obj> = { DaemonSet: daemonSet(), ServiceMonitor: load<Obj>('servicemonitor.yaml') };
  for (const name of names) {
    const component = load<Obj>(`${name}/kustomization.yaml`);
    assert.equal(component.kind, 'Component');
    for (const { path, target } of component.patches as Obj[]) {
      const doc = objects[target.kind as string];
      assert.ok(doc !== undefined, `${name}: patch target ${target.kind}`);
      assert.equal(target.name, doc.metadata.name, `${name}: the patch targets ${target.kind} ${doc.metadata.name}`);
      assert.equal(`${target.group}/${target.version}`, doc.apiVersion, `${name}: group/version of ${target.kind}`);
      objects[target.kind as string] = applyJson6902(doc, load<PatchOp[]>(`${name}/${path}`));
    }
  }
  return { ds: objects['DaemonSet'], monitor: objects['ServiceMonitor'] };
}

test('the web-config component: valid objects, the flag points into the Secret mount, probes and scrapes over HTTPS', () => {
  const { ds, monitor } = withComponents(WEB);
  assert.doesNotThrow(() => new DaemonSet(ds).validate());
  assert.doesNotThrow(() => new ServiceMonitor(monitor).validate());
  const c = container(ds);
  const args = c.args as string[];
  assert.deepEqual(args.slice(0, -1), container(daemonSet()).args, 'the base flags stay');
  const known = exporterFlags();
  for (const arg of args) assert.ok(known.has(flagName(arg)), `unknown flag ${arg}`);
  const file = flagValue(args, '--web.config.file');
  assert.ok(file !== undefined);
  const mount = (c.volumeMounts as Obj[]).find((m) => file.startsWith(`${m.mountPath}/`));
  assert.ok(mount, `a mount holds ${file}`);
  assert.equal(mount.readOnly, true);
  assert.equal(mount.subPath, undefined, 'a directory mount: Secret updates reach the exporter');
  const volume = (ds.spec.template.spec.volumes as Obj[]).find((v) => v.name === mount.name);
  assert.equal(volume?.secret?.secretName, 'linkstate-exporter-web-config');
  for (const probe of [c.readinessProbe, c.livenessProbe]) assert.equal(probe.httpGet.scheme, 'HTTPS');
  // The base stays plain HTTP and mounts nothing.
  assert.equal(container(daemonSet()).readinessProbe.httpGet.scheme, undefined);
  assert.deepEqual(container(daemonSet()).volumeMounts, []);
  const [endpoint] = monitor.spec.endpoints as Obj[];
  assert.equal(endpoint.scheme, 'https');
  assert.equal(endpoint.tlsConfig.serverName, 'linkstate-exporter');
  assert.equal(endpoint.basicAuth.username.name, endpoint.basicAuth.password.name);
});

test('the web-config and netns components combine in either order', () => {
  for (const order of [[WEB, COMPONENT], [COMPONENT, WEB]]) {
    const { ds } = withComponents(...order);
    assert.doesNotThrow(() => new DaemonSet(ds).validate(), order.join(' + '));
    const c = container(ds);
    assert.deepEqual((c.volumeMounts as Obj[]).map((m) => m.mountPath).sort(), ['/etc/linkstate-exporter', '/run/docker/netns', '/run/netns'], order.join(' + '));
    assert.deepEqual((ds.spec.template.spec.volumes as Obj[]).map((v) => v.name).sort(), ['docker-netns', 'netns', 'web-config']);
    assert.ok((c.args as string[]).includes('--collector.netns'));
    assert.ok((c.args as string[]).some((a) => a.startsWith('--web.config.file=')));
  }
});

interface Answer {
  status: number;
}

/** A GET as a kubelet probe (no credentials; an HTTPS probe does not verify the certificate) or as Prometheus. */
function get(scheme: string, port: number, path: string, opts: { auth?: string; ca?: Buffer; servername?: string } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers = opts.auth === undefined ? {} : { authorization: `Basic ${Buffer.from(opts.auth).toString('base64')}` };
    const base = { host: '127.0.0.1', port, path, headers, agent: false as const };
    const onResponse = (res: http.IncomingMessage): void => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0 }));
    };
    const req =
      scheme === 'HTTPS'
        ? https.request(
            opts.ca === undefined
              ? { ...base, rejectUnauthorized: false }
              : { ...base, ca: opts.ca, ...(opts.servername === undefined ? {} : { servername: opts.servername }) },
            onResponse,
          )
        : http.request(base, onResponse);
    req.on('error', reject);
    req.end();
  });
}

/**
 * Runs the exporter with the DaemonSet container's flags in a fresh namespace, --web.config.file
 * redirected from the Secret's mount path to `mountDir`, and checks what the kubelet and
 * Prometheus get.
 */
async function probeAsKubelet(ds: Obj, mountDir: string, check: (probe: (p: Obj) => Promise<Answer>, port: number, scheme: string) => Promise<void>): Promise<void> {
  const c = container(ds);
  const mount = (c.volumeMounts as Obj[]).find((m) => m.name === 'web-config') as Obj | undefined;
  const args = (c.args as string[]).map((a) =>
    mount !== undefined && a.startsWith(`--web.config.file=${mount.mountPath}/`) ? `--web.config.file=${mountDir}/${a.slice(`--web.config.file=${mount.mountPath}/`.length)}` : a,
  );
  const port = (c.ports as Obj[]).find((p) => p.name === c.readinessProbe.httpGet.port).containerPort as number;
  const scheme = (c.readinessProbe.httpGet.scheme ?? 'HTTP') as string;
  assert.equal(c.livenessProbe.httpGet.scheme ?? 'HTTP', scheme);
  const ns = await createNetns('lse-k8sweb');
  let leave: (() => void) | undefined;
  try {
    const child = ns.spawn(process.execPath, [BUILT_MAIN, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    let exited: number | null | undefined;
    child.once('exit', (code) => (exited = code));
    leave = enterNetns(ns.name);
    const probe = (p: Obj): Promise<Answer> => {
      if (exited !== undefined) throw new Error(`exporter exited with ${exited}: ${stderr}`);
      return get(scheme, port, p.httpGet.path as string);
    };
    await waitFor(`readiness probe ${scheme} ${c.readinessProbe.httpGet.path} (${stderr})`, async () => (await probe(c.readinessProbe).catch(() => ({ status: 0 }))).status === 200, 15_000);
    await check(probe, port, scheme);
    assert.equal(exited, undefined, stderr);
  } finally {
    leave?.();
    await ns.destroy();
  }
}

test('as the kubelet probes the web-config DaemonSet (TLS + basic auth): probes 200 without credentials, /metrics 401 without them', async (t) => {
  if (!requireRoot(t)) return;
  const { ds, monitor } = withComponents(WEB);
  const pki = new TestPki();
  const dir = mkdtempSync(join(tmpdir(), 'lse-k8s-web-'));
  try {
    // The Secret linkstate-exporter-web-config as the docs create it: the example file, tls.crt, tls.key.
    const ca = pki.makeCa('ca');
    const server = pki.makeCert('server', ca, { kind: 'server', sans: ['DNS:linkstate-exporter'] });
    copyFileSync(repoPath(DIR, WEB, 'web-config.example.yml'), join(dir, 'web-config.yml'));
    copyFileSync(server.certFile, join(dir, 'tls.crt'));
    copyFileSync(server.keyFile, join(dir, 'tls.key'));
    const [endpoint] = monitor.spec.endpoints as Obj[];
    await probeAsKubelet(ds, dir, async (probe, port, scheme) => {
      assert.equal(scheme, 'HTTPS');
      const c = container(ds);
      assert.equal((await probe(c.livenessProbe)).status, 200, 'liveness');
      assert.equal((await probe(c.readinessProbe)).status, 200, 'readiness');
      assert.equal((await get(scheme, port, endpoint.path)).status, 401, 'metrics need credentials');
      assert.equal((await get(scheme, port, endpoint.path, { auth: 'prometheus:wrong' })).status, 401);
      // As the ServiceMonitor scrapes: the CA, serverName linkstate-exporter, the example's password.
      const scrape = await get(scheme, port, endpoint.path, { auth: 'prometheus:change-me', ca: ca.cert, servername: endpoint.tlsConfig.serverName });
      assert.equal(scrape.status, 200);
    });
  } finally {
    pki.cleanup();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('as the kubelet probes the base DaemonSet with a basic-auth-only web config: probes 200 over HTTP, /metrics 401', async (t) => {
  if (!requireRoot(t)) return;
  const ds = daemonSet();
  const dir = mkdtempSync(join(tmpdir(), 'lse-k8s-web-'));
  try {
    writeFileSync(join(dir, 'web-config.yml'), 'basic_auth_users:\n  prometheus: $2y$10$/0QqgvAu9mmidbKpMw81TeEnPPRVOVhQvOigZU0AZFuBdxdhCtZE.\n');
    container(ds).args.push(`--web.config.file=${join(dir, 'web-config.yml')}`);
    await probeAsKubelet(ds, dir, async (probe, port, scheme) => {
      assert.equal(scheme, 'HTTP');
      const c = container(ds);
      assert.equal((await probe(c.livenessProbe)).status, 200, 'liveness');
      assert.equal((await probe(c.readinessProbe)).status, 200, 'readiness');
      assert.equal((await get(scheme, port, '/metrics')).status, 401);
      assert.equal((await get(scheme, port, '/metrics', { auth: 'prometheus:change-me' })).status, 200);
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// ---- The LLDP component (deploy/kubernetes/components/lldp) ----

test('the lldp component gives a valid DaemonSet with --collector.lldp and exactly NET_RAW, still dropping ALL', () => {
  const ds = netnsDaemonSet('components/lldp');
  assert.doesNotThrow(() => new DaemonSet(ds).validate());
  const c = container(ds);
  const args = c.args as string[];
  assert.deepEqual(args.filter((a) => flagName(a).startsWith('--collector.lldp')), ['--collector.lldp']);
  assert.deepEqual(args.slice(0, -1), container(daemonSet()).args, 'the base flags stay');
  const known = exporterFlags();
  for (const arg of args) assert.ok(known.has(flagName(arg)), `unknown flag ${arg}`);
  assertRootWithOnly(c, ['NET_RAW']);
  const pod = ds.spec.template.spec;
  assert.equal(pod.hostNetwork, true, 'the node\'s links, not the pod\'s');
  assert.equal(pod.securityContext.seccompProfile?.type, 'RuntimeDefault');
});

test('as a container runtime runs the lldp DaemonSet container, the exporter reads LLDP with NET_RAW only; as non-root it refuses', async (t) => {
  if (!requireRoot(t)) return;
  if (!requireCommand(t, 'setpriv', 'util-linux')) return;
  const ds = netnsDaemonSet('components/lldp');
  const c = container(ds);
  const pod = ds.spec.template.spec;
  await withNetnsLab('lse-k8slldp', async (lab) => {
    const args = c.args as string[];
    const exporter = await startPrivileged(lab, setprivLikeKubernetes(c, pod), args);
    try {
      assert.match(await exporter.metrics(), /^linkstate_exporter_lldp_frames_total \d+$/m);
      assert.equal(capabilitySet(exporter.status(), 'CapEff'), 1n << 13n, 'exactly CAP_NET_RAW');
    } finally {
      await exporter.stop();
    }
    const base = container(daemonSet());
    const refused = await runToExit(lab, setprivLikeKubernetes({ ...c, securityContext: { ...c.securityContext, runAsUser: base.securityContext.runAsUser ?? pod.securityContext.runAsUser } }, pod), args);
    assert.equal(refused.code, 1, refused.stderr);
    assert.equal(refused.stderr, 'linkstate-exporter: --collector.lldp needs CAP_NET_RAW; this process lacks CAP_NET_RAW\n');
  });
});
