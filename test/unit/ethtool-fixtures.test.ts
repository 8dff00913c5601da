// ethtool netlink fixtures (test/fixtures/ethtool, made by scripts/record-ethtool-fixtures.ts):
// kernel captures decode exactly as recorded and agree with what `ethtool DEV` printed at the
// same moment; the requests that drew them are what the encoders still produce; the uapi-built
// ones decode to the values they were built to carry (written by hand, not by the decoder).
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';

import {
  CTRL_ATTR_FAMILY_NAME,
  CTRL_CMD_GETFAMILY,
  ETHTOOL_A_HEADER_DEV_INDEX,
  ETHTOOL_A_HEADER_FLAGS,
  ETHTOOL_MCGRP_MONITOR_NAME,
  ETHTOOL_MSG_LINKMODES_GET,
  ETHTOOL_MSG_LINKSTATE_GET,
  GENL_ID_CTRL,
} from '../../src/ethtool/constants.js';
import { encodeGetFamilyRequest, multicastGroupId } from '../../src/ethtool/genl.js';
import { encodeLinkModesRequest } from '../../src/ethtool/linkmodes.js';
import { encodeLinkStateRequest } from '../../src/ethtool/linkstate.js';
import type { LinkModes, LinkState } from '../../src/ethtool/types.js';
import { decodeEthtoolFixture, type EthtoolFixtureRecord } from '../helpers/ethtool-fixture.js';

// dist/test/unit/ethtool-fixtures.test.js → <repo>/test/fixtures/ethtool
const DIR = fileURLToPath(new URL('../../../test/fixtures/ethtool/', import.meta.url));

interface Fixture {
  readonly name: string;
  readonly data: Buffer;
  readonly record: EthtoolFixtureRecord;
}

function loadFixtures(): Fixture[] {
  return readdirSync(DIR)
    .filter((f) => f.endsWith('.bin'))
    .sort()
    .map((bin) => {
      const name = bin.slice(0, -'.bin'.length);
      return {
        name,
        data: readFileSync(join(DIR, bin)),
        record: JSON.parse(readFileSync(join(DIR, `${name}.json`), 'utf8')) as EthtoolFixtureRecord,
      };
    });
}

const fixtures = loadFixtures();
const kernel = fixtures.filter((f) => f.record.source === 'kernel');
const built = fixtures.filter((f) => f.record.source === 'uapi-built');

function byStep(step: string): Fixture {
  const f = fixtures.find((x) => x.record.step === step);
  assert.ok(f, `fixture for step ${step}`);
  return f;
}

/** The attributes of a request we sent: a flat walk, one level into nests (test-side, independent of src). */
function requestFields(request: Buffer): { type: number; seq: number; cmd: number; ifindex?: number; flags?: number; name?: string } {
  const out: { type: number; seq: number; cmd: number; ifindex?: number; flags?: number; name?: string } = {
    type: request.readUInt16LE(4),
    seq: request.readUInt32LE(8),
    cmd: request[16]!,
  };
  let pos = 20;
  while (pos + 4 <= request.length) {
    const len = request.readUInt16LE(pos);
    const type = request.readUInt16LE(pos + 2) & 0x3fff;
    if (out.type === GENL_ID_CTRL && type === CTRL_ATTR_FAMILY_NAME) {
      out.name = request.toString('utf8', pos + 4, pos + len - 1);
    } else if (type === 1) {
      let inner = pos + 4;
      while (inner + 8 <= pos + len) {
        const t = request.readUInt16LE(inner + 2);
        if (t === ETHTOOL_A_HEADER_DEV_INDEX) out.ifindex = request.readUInt32LE(inner + 4);
        if (t === ETHTOOL_A_HEADER_FLAGS) out.flags = request.readUInt32LE(inner + 4);
        inner += (request.readUInt16LE(inner) + 3) & ~3;
      }
    }
    pos += (len + 3) & ~3;
  }
  return out;
}

describe('ethtool fixtures', () => {
  it('has kernel captures of every message kind and uapi-built replies, named as such', () => {
    assert.ok(kernel.length >= 15, `${kernel.length} kernel fixtures`);
    assert.ok(built.length >= 10, `${built.length} built fixtures`);
    for (const f of fixtures) {
      assert.equal(f.name.includes('uapi-built'), f.record.source === 'uapi-built', f.name);
    }
    const kinds = new Set(
      kernel.flatMap((f) =>
        f.record.messages.map((m) =>
          m.family !== undefined
            ? 'family'
            : m.error !== undefined
              ? 'error'
              : `${m.ethtool?.kind}${m.ethtool !== undefined && 'notification' in m.ethtool && m.ethtool.notification ? '-ntf' : ''}`,
        ),
      ),
    );
    for (const k of ['family', 'error', 'linkmodes', 'linkmodes-ntf', 'linkstate', 'linkinfo-ntf']) assert.ok(kinds.has(k), k);
  });

  for (const f of fixtures) {
    it(`${f.name} decodes as recorded`, () => {
      assert.deepEqual(decodeEthtoolFixture(f.data, f.record.familyId), f.record.messages);
    });
  }

  it('the recorded family has the "monitor" group and is the family the other kernel fixtures use', () => {
    const family = byStep('getfamily').record.messages[0]?.family;
    assert.ok(family);
    assert.equal(family.name, 'ethtool');
    assert.ok(multicastGroupId(family, ETHTOOL_MCGRP_MONITOR_NAME) !== undefined);
    for (const f of kernel) {
      assert.equal(f.record.familyId, family.familyId, f.name);
      for (const m of f.record.messages) if (m.ethtool !== undefined) assert.equal(m.type, family.familyId, f.name);
    }
  });

  it('the encoders still produce the exact requests the kernel answered', () => {
    let checked = 0;
    for (const f of kernel) {
      if (f.record.request === undefined) continue;
      const request = Buffer.from(f.record.request, 'hex');
      const r = requestFields(request);
      let again: Buffer;
      if (r.type === GENL_ID_CTRL) {
        assert.equal(r.cmd, CTRL_CMD_GETFAMILY);
        again = encodeGetFamilyRequest(r.seq, r.name);
      } else if (r.cmd === ETHTOOL_MSG_LINKMODES_GET) {
        again = r.flags === undefined ? encodeLinkModesRequest(r.type, r.seq, r.ifindex!, 0) : encodeLinkModesRequest(r.type, r.seq, r.ifindex!);
      } else {
        assert.equal(r.cmd, ETHTOOL_MSG_LINKSTATE_GET);
        // recorded before LINKSTATE asked for ETHTOOL_FLAG_STATS: those carry no FLAGS
        again = r.flags === undefined ? encodeLinkStateRequest(r.type, r.seq, r.ifindex!, 0) : encodeLinkStateRequest(r.type, r.seq, r.ifindex!, r.flags);
      }
      assert.deepEqual(again, request, f.name);
      // and the kernel's answer is to that request: same seq (a reply, or an NLMSG_ERROR naming it)
      const answer = f.record.messages[0]!;
      assert.equal(answer.error?.requestSeq ?? answer.seq, r.seq, f.name);
      checked += 1;
    }
    assert.ok(checked >= 10, `${checked} requests checked`);
  });

  it('refusals carry the errno the exporter acts on: ENOENT (no family), EOPNOTSUPP (lo), ENODEV (gone)', () => {
    assert.equal(byStep('getfamily-missing').record.messages[0]?.error?.error, -2);
    assert.equal(byStep('linkmodes-lo').record.messages[0]?.error?.error, -95);
    assert.equal(byStep('linkmodes-missing').record.messages[0]?.error?.error, -19);
  });

  it('kernel LINKMODES and LINKSTATE decodes agree with `ethtool DEV` at the same moment', () => {
    let checked = 0;
    for (const f of kernel) {
      const cli = f.record.cli;
      const e = decodeEthtoolFixture(f.data, f.record.familyId)[0]?.ethtool;
      if (cli === undefined || e === undefined) continue;
      if (e.kind === 'linkmodes') {
        const lm: LinkModes = e.linkModes;
        assert.equal(lm.ifname, cli.device, f.name);
        assert.equal(`${lm.speedMbps}Mb/s`, cli.speed, f.name);
        assert.equal(lm.duplex, cli.duplex?.toLowerCase(), f.name);
        assert.equal(lm.autoneg ? 'on' : 'off', cli.autoneg, f.name);
        checked += 1;
      } else if (e.kind === 'linkstate') {
        const ls: LinkState = e.linkState;
        assert.equal(ls.ifname, cli.device, f.name);
        assert.equal(ls.link ? 'yes' : 'no', cli.linkDetected, f.name);
        checked += 1;
      }
    }
    assert.ok(checked >= 9, `${checked} compared with ethtool`);
  });

  it('veth: 10000 Mb/s, full duplex, autonegotiation off, no advertised modes; no ext_state or SQI', () => {
    for (const step of ['linkmodes-veth', 'linkmodes-veth-verbose']) {
      const e = byStep(step).record.messages[0]?.ethtool;
      assert.ok(e?.kind === 'linkmodes');
      assert.deepEqual(e.linkModes, { ifindex: e.linkModes.ifindex, ifname: 'vetha', speedMbps: 10000, duplex: 'full', autoneg: false });
    }
    const down = byStep('linkstate-veth-peer-down').record.messages[0]?.ethtool;
    assert.ok(down?.kind === 'linkstate');
    assert.deepEqual(down.linkState, { ifindex: down.linkState.ifindex, ifname: 'vetha', link: false });
  });

  it('tap: `ethtool -s tap0 speed 100 duplex half autoneg off` arrives as a LINKMODES notification with the new values', () => {
    const ntf = byStep('set-tap-100-half').record.messages[0]?.ethtool;
    assert.ok(ntf?.kind === 'linkmodes' && ntf.notification);
    assert.equal(ntf.linkModes.speedMbps, 100);
    assert.equal(ntf.linkModes.duplex, 'half');
    assert.equal(ntf.linkModes.autoneg, false);
    const info = byStep('set-tap-port-fibre').record.messages[0]?.ethtool;
    assert.ok(info?.kind === 'linkinfo' && info.notification);
    assert.equal(info.linkInfo.ifname, 'tap0');
  });
});
