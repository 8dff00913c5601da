// A throwaway namespace of veth pairs for storm tests: IPv6 off (with it, every link change walks
// the IPv6 routes and thousands of links become quadratic), every pair up.
import { DISABLE_IPV6 } from './kernel-match.js';
import { createNetns, type Netns } from './netns.js';

/** `pairs` pairs `${link}${i}` / `${peer}${i}`, both up; the pair's link group is `group(i)`. */
export async function createVethLab(prefix: string, pairs: number, link: string, peer: string, group: (i: number) => number): Promise<Netns> {
  const ns = await createNetns(prefix);
  await ns.run('sysctl', DISABLE_IPV6);
  const lines: string[] = [];
  for (let i = 0; i < pairs; i++) lines.push(`link add ${link}${i} type veth peer name ${peer}${i} group ${group(i)}`);
  for (let i = 0; i < pairs; i++) lines.push(`link set ${link}${i} up`, `link set ${peer}${i} up`);
  await ns.ipBatch(lines);
  return ns;
}
