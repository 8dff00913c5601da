// A real Alertmanager (Debian's `prometheus-alertmanager`) for end-to-end tests, routing every
// alert to a webhook receiver the test runs (a node:http server). Both run inside a test network
// namespace on 127.0.0.1: start them from a thread that has entered it (enterNetns).
import type { ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { Netns } from './netns.js';
import { spawnReady } from './prometheus.js';

/** One alert of a webhook notification (Alertmanager's webhook payload, version 4). */
export interface WebhookAlert {
  readonly status: 'firing' | 'resolved';
  readonly labels: Record<string, string>;
  readonly annotations: Record<string, string>;
  readonly startsAt: string;
}

/** One notification as the receiver got it, with the time it arrived (Date.now()). */
export interface Notification {
  readonly receivedAt: number;
  readonly status: string;
  readonly alerts: readonly WebhookAlert[];
}

export interface WebhookReceiver {
  readonly url: string;
  /** Every notification received so far, in order. */
  readonly notifications: Notification[];
  /** Request bodies that were not a webhook payload (each one is a failure of the test). */
  readonly rejected: string[];
  close(): Promise<void>;
}

/** Bodies above this are refused: a webhook payload of a few alerts is a few KiB. */
const MAX_BODY = 1 << 20;

/** Starts an HTTP server on 127.0.0.1 (an ephemeral port) that records each POSTed notification. */
export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const notifications: Notification[] = [];
  const rejected: string[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      body += chunk;
      if (body.length > MAX_BODY) req.destroy();
    });
    req.on('end', () => {
      const receivedAt = Date.now();
      try {
        const payload = JSON.parse(body) as { status?: unknown; alerts?: unknown };
        if (req.method !== 'POST' || typeof payload.status !== 'string' || !Array.isArray(payload.alerts)) throw new Error('not a webhook payload');
        notifications.push({ receivedAt, status: payload.status, alerts: payload.alerts as WebhookAlert[] });
        res.writeHead(200).end();
      } catch {
        rejected.push(`${req.method} ${req.url}: ${body.slice(0, 200)}`);
        res.writeHead(400).end();
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    notifications,
    rejected,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export interface AlertmanagerServer {
  readonly child: ChildProcess;
  readonly base: string;
  /** Everything the server logged so far. */
  log(): string;
}

export interface AlertmanagerOptions {
  /** Working directory: the configuration file and the notification log go here. */
  readonly dir: string;
  readonly port: number;
  readonly webhookUrl: string;
  /** group_wait and group_interval, e.g. "1s": how soon a new alert, and a change, is sent. */
  readonly groupWait: string;
}

/** Starts Alertmanager inside ns; resolves once /-/ready answers (the caller must be in ns). */
export async function startAlertmanager(ns: Netns, opts: AlertmanagerOptions): Promise<AlertmanagerServer> {
  const config = {
    route: {
      receiver: 'webhook',
      // One notification per alert and link, as a per-device page would be.
      group_by: ['alertname', 'instance', 'job', 'device', 'netns'],
      group_wait: opts.groupWait,
      group_interval: opts.groupWait,
      repeat_interval: '4h',
    },
    receivers: [{ name: 'webhook', webhook_configs: [{ url: opts.webhookUrl, send_resolved: true }] }],
  };
  const configFile = join(opts.dir, 'alertmanager.yml');
  writeFileSync(configFile, stringify(config));
  const data = join(opts.dir, 'alertmanager');
  mkdirSync(data, { recursive: true });
  return spawnReady(
    ns,
    'prometheus-alertmanager',
    [
      `--config.file=${configFile}`,
      `--storage.path=${data}`,
      `--web.listen-address=127.0.0.1:${opts.port}`,
      // no cluster: a single instance, no gossip port
      '--cluster.listen-address=',
      '--log.level=warn',
    ],
    opts.port,
  );
}
