// Debian's lldpd in a test namespace: started paused (its lldpcli at start is replaced by
// /bin/true, so nothing is sent before the test has configured it), driven by lldpcli on a
// socket in a directory of its own that the _lldpd user can traverse.
import { execFile, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import type { Netns } from './netns.js';

export interface Lldpd {
  readonly socket: string;
  /** `lldpcli -u SOCKET ARGS...` inside the namespace; resolves to its stdout. */
  cli(args: readonly string[]): Promise<string>;
  /** Stops lldpd with SIGTERM (it sends a shutdown LLDPDU first) and waits for its exit. */
  stop(): Promise<void>;
}

/** lldpcli's JSON view of the neighbours on one interface, trimmed to what a test compares. */
export interface LldpdNeighborView {
  chassisIdType: string;
  chassisId: string;
  portIdType: string;
  portId: string;
  ttl: number;
  systemName?: string;
  systemDescription?: string;
  portDescription?: string;
  managementAddresses: string[];
  autonegSupported?: boolean;
  autonegEnabled?: boolean;
  /** lldpd's text for the operational MAU type. */
  mau?: string;
}

function run(cmd: string, args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { encoding: 'utf8' }, (error, stdout, stderr) => {
      if (error !== null) reject(new Error(`${cmd} ${args.join(' ')} failed: ${stderr.trim() || error.message}`));
      else resolve(stdout);
    });
  });
}

/**
 * Starts `lldpd -d` on INTERFACE in NETNS, paused; `receiveOnly` (-r) for a receiver that
 * never sends. Resolves once lldpcli answers on its socket.
 */
export async function startLldpd(netns: Netns, iface: string, opts: { receiveOnly?: boolean } = {}): Promise<Lldpd> {
  const dir = mkdtempSync(join(tmpdir(), 'lldpd-test-'));
  chmodSync(dir, 0o755); // lldpd drops to _lldpd, which must reach its socket
  const socket = join(dir, 'lldpd.socket');
  const args = ['-d', '-u', socket, '-I', iface, '-O', '/dev/null', '-L', '/bin/true'];
  if (opts.receiveOnly === true) args.push('-r');
  const child: ChildProcess = netns.spawn('lldpd', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const cli = (cliArgs: readonly string[]): Promise<string> => run('ip', ['netns', 'exec', netns.name, 'lldpcli', '-u', socket, ...cliArgs]);
  for (let attempt = 0; ; attempt++) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`lldpd exited at start: ${stderr.trim()}`);
    if (existsSync(socket)) {
      try {
        await cli(['show', 'configuration']);
        break;
      } catch (error) {
        if (attempt > 100) throw error;
      }
    }
    if (attempt > 100) throw new Error(`lldpd made no socket: ${stderr.trim()}`);
    await delay(50);
  }
  let stopped = false;
  return {
    socket,
    cli,
    stop: async () => {
      if (stopped) return;
      stopped = true;
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

type Json = Record<string, unknown>;
const first = (v: unknown): Json | undefined => (Array.isArray(v) ? (v[0] as Json | undefined) : undefined);
const value = (v: unknown): string | undefined => first(v)?.['value'] as string | undefined;

/** The neighbours lldpd (receiver) holds on IFACE, from `show neighbors details` in json0. */
export async function lldpdNeighbors(lldpd: Lldpd, iface: string): Promise<LldpdNeighborView[]> {
  const raw = JSON.parse(await lldpd.cli(['-f', 'json0', 'show', 'neighbors', 'ports', iface, 'details'])) as Json;
  const interfaces = (first(raw['lldp'])?.['interface'] as Json[] | undefined) ?? [];
  return interfaces.map((entry) => {
    const chassis = first(entry['chassis']) ?? {};
    const port = first(entry['port']) ?? {};
    const chassisId = first(chassis['id']) ?? {};
    const portId = first(port['id']) ?? {};
    const view: LldpdNeighborView = {
      chassisIdType: String(chassisId['type']),
      chassisId: String(chassisId['value']),
      portIdType: String(portId['type']),
      portId: String(portId['value']),
      ttl: Number(value(port['ttl'])),
      managementAddresses: ((chassis['mgmt-ip'] as Json[] | undefined) ?? []).map((m) => String(m['value'])),
    };
    const name = value(chassis['name']);
    if (name !== undefined) view.systemName = name;
    const descr = value(chassis['descr']);
    if (descr !== undefined) view.systemDescription = descr;
    const portDescr = value(port['descr']);
    if (portDescr !== undefined) view.portDescription = portDescr;
    const autoneg = first(port['auto-negotiation']);
    if (autoneg !== undefined) {
      view.autonegSupported = autoneg['supported'] === true;
      view.autonegEnabled = autoneg['enabled'] === true;
      const mau = value(autoneg['current']);
      if (mau !== undefined) view.mau = mau;
    }
    return view;
  });
}
