// Kernel captures (test/fixtures/netlink, made by scripts/record-fixtures.ts) decode exactly as
// recorded, and the decode agrees with iproute2's independent view of the same devices; the
// uapi-built ones decode to what they were built to say (written by hand, not by the decoder).
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { NLMSG_DONE, NLMSG_ERROR } from '../../src/netlink/constants.js';
import {
  AF_UNSPEC,
  IFF_LOWER_UP,
  IFF_UP,
  OPER_STATE_NAMES,
  RTM_DELLINK,
  RTM_NEWLINK,
} from '../../src/rtnetlink/constants.js';
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
const kernel = fixtures.filter((f) => f.record.source === undefined);
const built = fixtures.filter((f) => f.record.source === 'uapi-built');

/** The reason bits of IFLA_PROTO_DOWN_REASON as ip names them without a protodown_reasons.d map: "0".."31". */
function reasonBits(value: number): string[] {
  const bits: string[] = [];
  for (let b = 0; b < 32; b++) if ((value >>> b) & 1) bits.push(String(b));
  return bits;
}

/** What `ip -j` would show for a decoded link: the fields both sides have. */
function asIpSees(link: LinkMessage, ip: readonly IpRecord[], device: IpRecord | undefined): Record<string, unknown> {
  const masterName = link.master === undefined ? undefined : ip.find((d) => d.ifindex === link.master)?.ifname;
  const since: Record<string, unknown> = {};
  // Records made before these fields were recorded lack them; every newer one has both.
  if (device !== undefined && 'proto_down' in device) {
    since['proto_down'] = link.protoDown === 1;
    since['proto_down_reason'] = link.protoDownReason === undefined ? undefined : reasonBits(link.protoDownReason);
  }
  if (device !== undefined && 'link' in device) {
    const peer = link.iflink === undefined || link.iflink === 0 || link.linkNetnsid !== undefined ? undefined : ip.find((d) => d.ifindex === link.iflink);
    // The veth made first of a pair announces IFLA_LINK 0 (no peer yet) and is not announced
    // again when its peer appears: its last message may say 0 while ip, asked later, names the peer.
    since['link'] = link.iflink === 0 && typeof device.link === 'string' ? device.link : (peer?.ifname ?? null);
    since['link_index'] = link.linkNetnsid === undefined ? undefined : link.iflink;
    since['link_netnsid'] = link.linkNetnsid;
  }
  return {
    ...since,
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
  const since: Record<string, unknown> = {};
  if ('proto_down' in device) {
    since['proto_down'] = device.proto_down;
    since['proto_down_reason'] = device.proto_down_reason;
  }
  if ('link' in device) {
    since['link'] = device.link;
    since['link_index'] = device.link_index;
    since['link_netnsid'] = device.link_netnsid;
  }
  return {
    ...since,
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

  it('are kernel captures, or named uapi-built exactly when built to the uapi layout', () => {
    assert.equal(kernel.length + built.length, fixtures.length);
    for (const f of fixtures) assert.equal(f.name.startsWith('uapi-built-'), f.record.source === 'uapi-built', f.name);
    assert.ok(built.length >= 2, `${built.length} built fixtures`);
  });

  /** The final AF_UNSPEC decode of `ifname` in `step`, from the kernel captures. */
  function finalOf(step: string, ifname: string): LinkMessage {
    let last: LinkMessage | undefined;
    for (const f of kernel) {
      if (f.record.step !== step) continue;
      for (const m of f.record.messages) if (m.link !== undefined && m.family === AF_UNSPEC && m.link.ifname === ifname) last = m.link;
    }
    assert.ok(last, `${ifname} in step ${step}`);
    return last;
  }

  it('cover why a link loses carrier: its lower device, protodown (with a reason), a bridge without ports, a tap without a reader', () => {
    const tap = finalOf('tap-carrier-off', 'tap0');
    const mv = finalOf('tap-carrier-off', 'mv0');
    assert.equal(mv.iflink, tap.ifindex, 'the macvlan names the tap as its lower device');
    assert.equal(tap.iflink, undefined, 'a device that is its own link sends no IFLA_LINK');
    assert.deepEqual([tap.carrier, OPER_STATE_NAMES[tap.operstate!]], [0, 'down']);
    assert.deepEqual([mv.carrier, OPER_STATE_NAMES[mv.operstate!], (mv.flags & IFF_UP) !== 0], [0, 'lowerlayerdown', true]);

    const pd = finalOf('protodown', 'mv0');
    assert.deepEqual([pd.protoDown, pd.protoDownReason, pd.carrier, (pd.flags & IFF_UP) !== 0], [1, undefined, 0, true]);
    assert.equal(finalOf('protodown', 'mv0').operstate, 2, 'protodown: DOWN, not LOWERLAYERDOWN');
    const reason = finalOf('protodown-reason', 'mv0');
    assert.deepEqual([reason.protoDown, reason.protoDownReason], [1, 1]);
    const off = finalOf('protodown-off', 'mv0');
    assert.deepEqual([off.protoDown, off.protoDownReason, off.carrier], [0, undefined, 1]);

    const bridge = finalOf('bridge-last-port-gone', 'br1');
    assert.deepEqual([(bridge.flags & IFF_UP) !== 0, bridge.carrier, OPER_STATE_NAMES[bridge.operstate!]], [true, 0, 'down']);

    const released = finalOf('tap-release', 'tap0');
    assert.deepEqual([(released.flags & IFF_UP) !== 0, released.carrier], [true, 0]);
    assert.equal(OPER_STATE_NAMES[finalOf('tap-release', 'mv0').operstate!], 'lowerlayerdown');

    // ip's view was recorded for these, and compared below
    assert.ok(kernel.some((f) => f.record.ip.some((d) => d.proto_down === true && d.proto_down_reason?.[0] === '0')));
    assert.ok(kernel.some((f) => f.record.ip.some((d) => d.ifname === 'mv0' && d.link === 'tap0')));
  });

  it('no kernel capture has a parent device (none in a namespace); the uapi-built ones do', () => {
    for (const f of kernel) for (const m of f.record.messages) assert.equal(m.link?.parentDevice ?? m.link?.parentBus, undefined, f.name);
    const parents = built.flatMap((f) => f.record.messages.map((m) => [m.link?.parentBus, m.link?.parentDevice]));
    assert.deepEqual(parents, [
      ['pci', '0000:03:00.0'],
      ['virtio', 'virtio2'],
    ]);
  });

  // The last AF_UNSPEC link message of a device within a step shows the state the step settled
  // in, which is when the recorder ran `ip -j -d link show`.
  const steps = new Map<string, Fixture[]>();
  for (const fixture of kernel) {
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
        assert.deepEqual(asIpSees(link, ip, device), ipView(device), from);
      }
    });
  }
});
