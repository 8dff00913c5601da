// A netlink message forged by a user-space process: an RTM_NEWLINK for a device that does not
// exist ("forged0"), sent from a socket of this process to the exporter's port id. The exporter
// must count it (dropped, reason foreign_sender) and never apply it. The calling thread must be in
// the exporter's network namespace (netlink port ids are per namespace).
import assert from 'node:assert/strict';
import { AF_NETLINK, NETLINK_ROUTE, SOCK_CLOEXEC, SOCK_RAW } from '../../src/netlink/constants.js';
import { IFF_LOWER_UP, IFF_UP } from '../../src/rtnetlink/constants.js';
import { lastErrno, libc } from '../../src/netlink/libc.js';
import { eventually } from './exporter.js';
import { sampleValue, type Sample } from './exposition.js';
import { fullLink, linkMessageBytes } from './netlink-bytes.js';

export const FORGED_DEVICE = 'forged0';

/** Sends the forged message to `portId`; asserts the kernel took it. */
export function sendForgedLink(portId: number): void {
  const forger = libc.socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  assert.ok(forger >= 0, `socket: errno ${lastErrno()}`);
  try {
    const forged = linkMessageBytes(
      fullLink({ ifindex: 4242, ifname: FORGED_DEVICE, flags: IFF_UP | IFF_LOWER_UP, carrier: 1, carrierChanges: 99 }),
    );
    const to = Buffer.alloc(12);
    to.writeUInt16LE(AF_NETLINK, 0);
    to.writeUInt32LE(portId, 4);
    assert.equal(libc.sendto(forger, forged, forged.length, 0, to, 12), forged.length, `sendto: errno ${lastErrno()}`);
  } finally {
    libc.close(forger);
  }
}

/** Sends the forged message and waits until it is counted as dropped, once; it must not be applied. */
export async function expectForgedDropped(portId: number, scrape: () => Promise<Sample[]>): Promise<Sample[]> {
  sendForgedLink(portId);
  const samples = await eventually('the forged message to be counted', async () => {
    const s = await scrape();
    return (sampleValue(s, 'linkstate_exporter_netlink_dropped_total', { reason: 'foreign_sender' }) ?? 0) >= 1 ? s : undefined;
  });
  assert.equal(sampleValue(samples, 'linkstate_exporter_netlink_dropped_total', { reason: 'foreign_sender' }), 1);
  assert.ok(samples.every((s) => s.labels['device'] !== FORGED_DEVICE));
  return samples;
}
