// Kernel captures (test/fixtures/netlink, made by scripts/record-fixtures.ts) decode exactly as
// recorded, and the decode agrees with iproute2's independent view of the same devices.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import {
  AF_UNSPEC,
  IFF_LOWER_UP,
  IFF_UP,
  NLMSG_DONE,
  NLMSG_ERROR,
  OPER_STATE_NAMES,
  RTM_DELLINK,
  RTM_NEWLINK,
} from '../../src/netlink/constants.js';
import type { LinkMessage } from '../../src/netlink/types.js';
import { decodeFixtureMessages, type FixtureRecord, type IpRecord } from '../helpers/fixture-record.js';

// dist/test/unit/fixtures.test.js → <repo>/test/fixtures/netlink
const DIR = fileURLToPath(new URL('../../../test/fixtures/netlink/', import.meta.url));

interface Fixture {
  readonly name: string;
  readonly data: Buffer;
  readonly record: FixtureRecord;
}

function loadFixtures(): Fixture[] {
  const bins = readdirSync(DIR)
    .filter((f) => f.endsWith('.bin'))
    .sort();
  return bins.map((bin) => {
    const name = bin.slice(0, -'.bin'.length);
    return {
      name,
      data: readFileSync(join(DIR, bin)),
      record: JSON.parse(readFileSync(join(DIR, `${name}.json`), 'utf8')) as FixtureRecord,
    };
  });
}

const fixtures = loadFixtures();

/** What `ip -j` would show for a decoded link: the fields both sides have. */
function asIpSees(link: LinkMessage, ip: readonly IpRecord[]): Record<string, unknown> {
  const masterName = link.master === undefined ? undefined : ip.find((d) => d.ifindex === link.master)?.ifname;
  return {
    ifindex: link.ifindex,
    ifname: link.ifname,
    mtu: link.mtu,
    operstate: link.operstate === undefined ? undefined : OPER_STATE_NAMES[link.operstate]?.toUpperCase(),
    address: link.address,
    ifalias: link.ifalias,
    master: masterName,
    info_kind: link.infoKind,
    UP: (link.flags & IFF_UP) !== 0,
    LOWER_UP: (link.flags & IFF_LOWER_UP) !== 0,
  };
}

function ipView(device: IpRecord): Record<string, unknown> {
  return {
    ifindex: device.ifindex,
    ifname: device.ifname,
    mtu: device.mtu,
    operstate: device.operstate,
    address: device.address,
    ifalias: device.ifalias,
    master: device.master,
    info_kind: device.info_kind,
    UP: device.flags.includes('UP'),
    LOWER_UP: device.flags.includes('LOWER_UP'),
  };
}

describe('netlink fixtures recorded from the kernel', () => {
  it('exist', () => {
    assert.ok(fixtures.length > 0, `no .bin fixtures in ${DIR}: run npm run record-fixtures as root`);
  });

  for (const fixture of fixtures) {
    it(`${fixture.name} decodes exactly as recorded`, () => {
      assert.ok(fixture.record.messages.length > 0);
      assert.deepEqual(decodeFixtureMessages(fixture.data), fixture.record.messages);
    });
  }

  it('cover what the monitor must handle: dump, done, error, new, del, bridge port info, a forged sender', () => {
    const all = fixtures.flatMap((f) => f.record.messages.map((m) => ({ fixture: f, m })));
    assert.ok(all.some(({ m }) => m.type === NLMSG_DONE));
    assert.ok(all.some(({ m }) => m.type === NLMSG_ERROR && m.error !== undefined && m.error.error < 0));
    assert.ok(all.some(({ m }) => m.type === RTM_NEWLINK && m.family === AF_UNSPEC));
    assert.ok(all.some(({ m }) => m.type === RTM_DELLINK && m.family === AF_UNSPEC));
    assert.ok(all.some(({ m }) => m.family !== undefined && m.family !== AF_UNSPEC));
    assert.ok(fixtures.some((f) => f.record.senderPid !== 0));
    assert.ok(fixtures.every((f) => f.record.senderPid === 0 || f.record.step === 'forged'));
    assert.ok(fixtures.every((f) => !f.record.truncated));
  });

  // The last AF_UNSPEC link message of a device within a step shows the state the step settled
  // in, which is when the recorder ran `ip -j -d link show`.
  const steps = new Map<string, Fixture[]>();
  for (const fixture of fixtures) {
    if (fixture.record.senderPid !== 0) continue; // a forged copy says nothing about the kernel's state
    if (!fixture.record.messages.some((m) => m.link !== undefined && m.family === AF_UNSPEC)) continue;
    steps.set(fixture.record.step, [...(steps.get(fixture.record.step) ?? []), fixture]);
  }
  for (const [step, stepFixtures] of steps) {
    it(`step ${step}: the final decode of each link agrees with ip -j -d link show`, () => {
      const ip = stepFixtures[0]?.record.ip ?? [];
      const final = new Map<number, { link: LinkMessage; from: string }>();
      for (const fixture of stepFixtures) {
        assert.deepEqual(fixture.record.ip, ip, `${fixture.name}: one ip snapshot per step`);
        for (const m of decodeFixtureMessages(fixture.data)) {
          if (m.link === undefined || m.family !== AF_UNSPEC) continue;
          final.set(m.link.ifindex, { link: m.link, from: fixture.name });
        }
      }
      assert.ok(final.size > 0);
      for (const { link, from } of final.values()) {
        const device = ip.find((d) => d.ifindex === link.ifindex);
        if (link.kind === 'del') {
          assert.equal(device, undefined, `${from}: ifindex ${link.ifindex} deleted, but ip still shows it`);
          continue;
        }
        assert.ok(device !== undefined, `${from}: ifindex ${link.ifindex} missing from ip`);
        assert.deepEqual(asIpSees(link, ip), ipView(device), from);
      }
    });
  }
});
