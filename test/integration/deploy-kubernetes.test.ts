// deploy/kubernetes: every object is validated against the Kubernetes (and Prometheus operator)
// schemas with kubernetes-models, and the properties that matter for this exporter are asserted.
// Note: the schemas accept unknown fields, so the fields we rely on are asserted by name below.
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { test } from 'node:test';
import { parse } from 'yaml';
import { DaemonSet } from 'kubernetes-models/apps/v1';
import { Service } from 'kubernetes-models/v1';
import { PrometheusRule, ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';
import { exporterFlags, flagName, flagValue } from '../helpers/exporter-flags.js';
import { readRepoFile, repoPath } from '../helpers/repo.js';

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

test('kustomization.yaml lists every manifest in the folder, and they exist', () => {
  const kustomization = load<Obj>('kustomization.yaml');
  assert.equal(kustomization.apiVersion, 'kustomize.config.k8s.io/v1beta1');
  assert.equal(kustomization.kind, 'Kustomization');
  const manifests = readdirSync(repoPath(DIR))
    .filter((file) => file.endsWith('.yaml') && file !== 'kustomization.yaml')
    .sort();
  assert.deepEqual([...kustomization.resources].sort(), manifests);
  for (const file of kustomization.resources as string[]) assert.ok(existsSync(repoPath(DIR, file)), file);
  // The images transformer must name the image the DaemonSet uses, or it silently does nothing.
  const image = String(container(daemonSet()).image);
  assert.deepEqual(
    (kustomization.images as Obj[]).map((entry) => entry.name),
    [image.replace(/:[^/:]+$/, '')],
  );
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
