// The lab, seen from inside its network namespace (the harness runs under `ip netns exec`):
// IPv6 off, N veth pairs lnkI <-> peerI, all up. lnk* are in LNK_GROUP (deleting them deletes
// the pairs), peer* in PEER_GROUP, except the first STORM_PEERS peers, which are in STORM_GROUP so
// that one `ip link set group STORM_GROUP down|up` request flips all of them.
import { execFile, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

export const LNK_GROUP = 77;
export const PEER_GROUP = 78;
export const STORM_GROUP = 79;
/** Peers flipped per storm request (the fastest storm one `ip -batch` produces here). */
export const STORM_PEERS = 50;

export const lnk = (i: number): string => `lnk${i}`;
export const peer = (i: number): string => `peer${i}`;

export function run(cmd: string, args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { maxBuffer: 256 * 1024 * 1024, encoding: 'utf8' }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${cmd} ${args.join(' ')}: ${error.message} ${stderr.trim()}`));
      else resolve(stdout);
    });
  });
}

/** Feeds lines to one `ip -batch -` process (one netlink request per line). */
export function ipBatch(lines: readonly string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('ip', ['-batch', '-'], { stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (c: string) => (stderr += c));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`ip -batch exited ${code}: ${stderr.trim()}`))));
    child.stdin.end(lines.join('\n') + '\n');
  });
}

/** Makes the lab: IPv6 off, lo up, n pairs up and operationally up. Returns seconds taken. */
export async function buildLab(n: number): Promise<number> {
  const t0 = Date.now();
  // With IPv6 on, every link change walks the whole IPv6 FIB: storms would be quadratic.
  await run('sysctl', ['-q', '-w', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']);
  await run('ip', ['link', 'set', 'lo', 'up']);
  const add: string[] = [];
  for (let i = 0; i < n; i++) {
    const peerGroup = i < STORM_PEERS ? STORM_GROUP : PEER_GROUP;
    add.push(`link add ${lnk(i)} group ${LNK_GROUP} type veth peer name ${peer(i)} group ${peerGroup}`);
  }
  await ipBatch(add);
  await ipBatch([`link set group ${LNK_GROUP} up`, `link set group ${PEER_GROUP} up`, `link set group ${STORM_GROUP} up`]);
  // Carrier is set at once, but the kernel's linkwatch work — which sets operstate and sends the
  // RTM_NEWLINK for each carrier change — drains its queue slowly (tens of seconds for thousands
  // of new links: docs/design.md, Measured trade-offs), and a change made meanwhile waits behind
  // the whole backlog. The lab is ready when
  // every veth's operstate is up.
  const deadline = Date.now() + 300_000;
  while (countNotUp() > 0) {
    if (Date.now() > deadline) throw new Error('lab: veths not operationally up after 300 s');
    await new Promise((r) => setTimeout(r, 200));
  }
  return (Date.now() - t0) / 1000;
}

function countNotUp(): number {
  let notUp = 0;
  for (const dev of readdirSync('/sys/class/net')) {
    if (!dev.startsWith('lnk') && !dev.startsWith('peer')) continue;
    try {
      if (readFileSync(`/sys/class/net/${dev}/operstate`, 'utf8').trim() !== 'up') notUp++;
    } catch {
      notUp++;
    }
  }
  return notUp;
}

/** Number of interfaces in the namespace (lo included). */
export function interfaceCount(): number {
  return readdirSync('/sys/class/net').length;
}

/** The storm: `flips` times all STORM_PEERS peers down, then up (2 * flips requests). */
export function stormLines(flips: number): string[] {
  const lines: string[] = [];
  for (let i = 0; i < flips; i++) lines.push(`link set group ${STORM_GROUP} down`, `link set group ${STORM_GROUP} up`);
  return lines;
}
