// The LLDPDU decoder: fixtures captured from Debian's lldpd decode as recorded and agree with a
// receiving lldpd's own view of the same frames; built fixtures (802.1AB layout, for what lldpd
// does not send) decode to the values written by hand; a table of malformed frames, each with
// its reason; any bytes give a result (never a throw); generated valid LLDPDUs round-trip.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';

import fc from 'fast-check';

import { encodeKernelText } from '../../src/netlink/kernel-text.js';
import { LLDP_DROP_REASONS, decodeLldpdu, mauTypeSpeed, type LldpDecodeResult, type LldpDropReason } from '../../src/lldp/lldpdu.js';
import {
  END_TLV,
  LLDP_MULTICAST,
  idTlv,
  macPhyTlv,
  managementAddressTlv,
  textTlv,
  tlv,
  ttlTlv,
  type LldpFixtureRecord,
} from '../helpers/lldp-bytes.js';
import { fuzzRuns } from '../helpers/netlink-arbitraries.js';

// dist/test/unit/lldpdu.test.js → <repo>/test/fixtures/lldp
const DIR = fileURLToPath(new URL('../../../test/fixtures/lldp/', import.meta.url));
const RUNS = fuzzRuns(2_000);

interface Fixture {
  readonly name: string;
  readonly frame: Buffer;
  readonly record: LldpFixtureRecord;
}

const fixtures: Fixture[] = readdirSync(DIR)
  .filter((f) => f.endsWith('.bin'))
  .sort()
  .map((bin) => {
    const name = bin.slice(0, -'.bin'.length);
    return { name, frame: readFileSync(join(DIR, bin)), record: JSON.parse(readFileSync(join(DIR, `${name}.json`), 'utf8')) as LldpFixtureRecord };
  });
const captured = fixtures.filter((f) => f.record.source === 'lldpd');
const built = fixtures.filter((f) => f.record.source === 'built');

/** JSON's view of a value (drops undefined keys), as the records store it. */
const json = (v: unknown): unknown => JSON.parse(JSON.stringify(v));
const payload = (f: Fixture): Buffer => f.frame.subarray(14);

describe('LLDP fixtures', () => {
  it('holds captures from lldpd (named lldpd-*) and built frames (named built-*)', () => {
    assert.ok(captured.length >= 5, `captured fixtures: ${captured.length}`);
    assert.ok(built.length >= 5, `built fixtures: ${built.length}`);
    for (const f of fixtures) assert.ok(f.name.startsWith(f.record.source === 'lldpd' ? 'lldpd-' : 'built-'), f.name);
  });

  it('are LLDP frames: to 01:80:c2:00:00:0e, ethertype 0x88cc', () => {
    for (const f of fixtures) {
      assert.deepEqual(f.frame.subarray(0, 6), LLDP_MULTICAST, f.name);
      assert.equal(f.frame.readUInt16BE(12), 0x88cc, f.name);
      assert.equal(f.record.ethertype, 0x88cc, f.name);
    }
  });

  for (const f of fixtures) {
    it(`${f.name} decodes as recorded`, () => {
      assert.deepEqual(json(decodeLldpdu(payload(f))), json(f.record.decode));
    });
  }

  it('lldpd at the other end decoded the same ids, names and addresses', () => {
    let compared = 0;
    for (const f of captured) {
      const view = f.record.lldpd;
      const decoded = decodeLldpdu(payload(f));
      if (view === null || view === undefined) {
        // lldpd dropped the neighbour: the frame was its shutdown LLDPDU
        assert.equal(decoded.ok ? 'ok' : decoded.reason, 'shutdown', f.name);
        continue;
      }
      assert.ok(decoded.ok, `${f.name}: ${JSON.stringify(decoded)}`);
      const n = decoded.neighbor;
      // lldpd prints text ids as their bytes; ours are escaped text that reads back to them
      assert.deepEqual(encodeKernelText(n.chassisId), Buffer.from(view.chassisId, 'utf8'), `${f.name} chassis id`);
      assert.deepEqual(encodeKernelText(n.portId), Buffer.from(view.portId, 'utf8'), `${f.name} port id`);
      // lldpd's names of the subtypes (802.1AB Tables 8-2 and 8-3)
      const chassisSubtypes: Record<string, number> = { mac: 4, local: 7, ifname: 6, ifalias: 2 };
      assert.equal(n.chassisIdSubtype, chassisSubtypes[view.chassisIdType], `${f.name} chassis subtype ${view.chassisIdType}`);
      const portSubtypes: Record<string, number> = { mac: 3, local: 7, ifname: 5, ifalias: 1 };
      assert.equal(n.portIdSubtype, portSubtypes[view.portIdType], `${f.name} port subtype ${view.portIdType}`);
      assert.equal(n.ttlSeconds, view.ttl, f.name);
      assert.equal(n.systemName === undefined ? undefined : encodeKernelText(n.systemName).toString('utf8'), view.systemName, f.name);
      assert.equal(n.systemDescription === undefined ? undefined : encodeKernelText(n.systemDescription).toString('utf8'), view.systemDescription, f.name);
      assert.equal(n.portDescription === undefined ? undefined : encodeKernelText(n.portDescription).toString('utf8'), view.portDescription, f.name);
      assert.equal(n.managementAddress, view.managementAddresses[0], f.name);
      assert.ok(n.macPhy, `${f.name}: lldpd sends the MAC/PHY TLV`);
      assert.equal(n.macPhy.autonegSupported, view.autonegSupported, f.name);
      assert.equal(n.macPhy.autonegEnabled, view.autonegEnabled, f.name);
      // lldpd names the MAU ("10GbaseT - ..., full duplex mode only"): the same speed and duplex
      const m = /^(\d+)(G?)base/i.exec(view.mau ?? '');
      assert.ok(m, `${f.name}: lldpd's MAU text ${view.mau}`);
      const mbit = Number(m[1]) * (m[2] === 'G' ? 1000 : 1);
      assert.equal(n.macPhy.speedBytesPerSecond, mbit * 125_000, f.name);
      if (/full duplex/.test(view.mau ?? '')) assert.equal(n.macPhy.duplex, 'full', f.name);
      compared += 1;
    }
    assert.ok(compared >= 5, `compared ${compared}`);
  });

  it('the lldpd captures show the ids the recorder configured', () => {
    const local = captured.find((f) => f.record.step === 'leaf-07-local-port');
    assert.ok(local);
    const decoded = decodeLldpdu(payload(local));
    assert.ok(decoded.ok);
    assert.equal(decoded.neighbor.systemName, 'leaf-07');
    assert.equal(decoded.neighbor.portIdSubtype, 7);
    assert.equal(decoded.neighbor.portId, 'Ethernet1/12');
    assert.equal(decoded.neighbor.portDescription, 'uplink to db-12 eth3');
    assert.equal(decoded.neighbor.chassisIdSubtype, 4);
    assert.equal(decoded.neighbor.chassisId, local.record.sourceMac);
    const text = captured.find((f) => f.record.step === 'text-utf8-control');
    assert.ok(text);
    const t = decodeLldpdu(payload(text));
    assert.ok(t.ok);
    // the escape and the tab arrive escaped, never raw
    assert.equal(t.neighbor.portDescription, 'rack 4\\x1b[31m red\\x09port');
    assert.equal(t.neighbor.systemName, 'leaf-07-zürich');
    const shutdown = captured.find((f) => f.record.step === 'shutdown');
    assert.ok(shutdown);
    assert.deepEqual(decodeLldpdu(payload(shutdown)), { ok: false, reason: 'shutdown', chassisId: 'leaf-07.example', portId: 'Ethernet1/12' });
  });
});

// A valid head to build malformed frames from.
const MAC = Buffer.from([0x02, 0x00, 0x5e, 0x10, 0x00, 0x99]);
const CHASSIS = idTlv(1, 4, MAC);
const PORT = idTlv(2, 5, 'eth0');
const TTL = ttlTlv(120);
const HEAD = Buffer.concat([CHASSIS, PORT, TTL]);
const frame = (...parts: Buffer[]): Buffer => Buffer.concat(parts);

describe('malformed LLDPDUs', () => {
  const table: Array<[string, Buffer, LldpDropReason]> = [
    ['no bytes', Buffer.alloc(0), 'truncated'],
    ['one byte', Buffer.from([0x02]), 'truncated'],
    ['a TLV header cut after the mandatory TLVs', frame(HEAD, Buffer.from([0x0a])), 'truncated'],
    ['chassis id length past the frame', tlv(1, [4, 1, 2], 7), 'tlv_overrun'],
    ['a system name longer than the bytes left', frame(HEAD, tlv(5, Buffer.from('leaf'), 40)), 'tlv_overrun'],
    ['End first', END_TLV, 'missing_mandatory'],
    ['End after the chassis id', frame(CHASSIS, END_TLV), 'missing_mandatory'],
    ['End after chassis and port ids', frame(CHASSIS, PORT, END_TLV), 'missing_mandatory'],
    ['chassis and port ids, then the frame ends', frame(CHASSIS, PORT), 'missing_mandatory'],
    ['port id first', frame(PORT, CHASSIS, TTL, END_TLV), 'bad_order'],
    ['TTL before port id', frame(CHASSIS, TTL, PORT, END_TLV), 'bad_order'],
    ['a system name in the mandatory part', frame(CHASSIS, textTlv(5, 'x'), PORT, TTL, END_TLV), 'bad_order'],
    ['a second chassis id', frame(HEAD, idTlv(1, 4, MAC), END_TLV), 'duplicate_mandatory'],
    ['a second TTL', frame(HEAD, ttlTlv(5), END_TLV), 'duplicate_mandatory'],
    ['chassis id of length 0 (no subtype)', frame(tlv(1, []), PORT, TTL, END_TLV), 'bad_length'],
    ['chassis id subtype 0 (reserved)', frame(idTlv(1, 0, 'x'), PORT, TTL, END_TLV), 'bad_subtype'],
    ['chassis id subtype 8 (reserved)', frame(idTlv(1, 8, 'x'), PORT, TTL, END_TLV), 'bad_subtype'],
    ['port id subtype 9 (reserved)', frame(CHASSIS, idTlv(2, 9, 'x'), TTL, END_TLV), 'bad_subtype'],
    ['empty chassis id', frame(idTlv(1, 7, ''), PORT, TTL, END_TLV), 'empty_id'],
    ['empty port id', frame(CHASSIS, idTlv(2, 5, ''), TTL, END_TLV), 'empty_id'],
    ['a port id of 256 bytes', frame(CHASSIS, idTlv(2, 7, 'p'.repeat(256)), TTL, END_TLV), 'bad_length'],
    ['TTL of 1 byte', frame(CHASSIS, PORT, tlv(3, [120]), END_TLV), 'bad_length'],
    ['TTL of 3 bytes', frame(CHASSIS, PORT, tlv(3, [0, 120, 0]), END_TLV), 'bad_length'],
    ['End with a length', frame(HEAD, tlv(0, [0])), 'bad_length'],
    ['a system description of 256 bytes', frame(HEAD, textTlv(6, 'd'.repeat(256)), END_TLV), 'bad_length'],
    ['a port description of 511 bytes', frame(HEAD, textTlv(4, 'd'.repeat(511)), END_TLV), 'bad_length'],
    ['a management address TLV of 8 bytes', frame(HEAD, tlv(8, [5, 1, 192, 0, 2, 1, 2, 0]), END_TLV), 'bad_length'],
    ['a management address string length of 1', frame(HEAD, tlv(8, [1, 1, 2, 0, 0, 0, 2, 0, 0]), END_TLV), 'bad_length'],
    ['a management address whose OID length disagrees with the TLV', frame(HEAD, tlv(8, [5, 1, 192, 0, 2, 1, 2, 0, 0, 0, 2, 3, 1]), END_TLV), 'bad_length'],
    ['an organisational TLV of 3 bytes', frame(HEAD, tlv(127, [0x00, 0x12, 0x0f]), END_TLV), 'bad_length'],
    ['an 802.3 MAC/PHY TLV of 8 bytes', frame(HEAD, tlv(127, [0x00, 0x12, 0x0f, 0x01, 0x03, 0x00, 0x01, 0x00]), END_TLV), 'bad_length'],
    ['TTL 0 without optional TLVs', frame(CHASSIS, PORT, ttlTlv(0), END_TLV), 'shutdown'],
  ];
  for (const [what, bytes, reason] of table) {
    it(`${what} → ${reason}`, () => {
      const result = decodeLldpdu(bytes);
      assert.equal(result.ok, false, JSON.stringify(result));
      assert.equal(!result.ok && result.reason, reason);
    });
  }

  it('a shutdown carries the ids it names', () => {
    assert.deepEqual(decodeLldpdu(frame(CHASSIS, PORT, ttlTlv(0), END_TLV)), { ok: false, reason: 'shutdown', chassisId: '02:00:5e:10:00:99', portId: 'eth0' });
  });

  it('every reason is a listed one, and the list has no duplicates', () => {
    assert.equal(new Set(LLDP_DROP_REASONS).size, LLDP_DROP_REASONS.length);
    for (const [, , reason] of table) assert.ok(LLDP_DROP_REASONS.includes(reason));
  });

  it('what follows End is ignored, even bytes that would be malformed', () => {
    const result = decodeLldpdu(frame(HEAD, END_TLV, Buffer.from([0xff, 0xff, 0x01])));
    assert.ok(result.ok);
  });

  it('reads a Uint8Array that is a view into a larger buffer', () => {
    const big = Buffer.concat([Buffer.from([0xee, 0xee]), HEAD, END_TLV, Buffer.from([0xee])]);
    const view = new Uint8Array(big.buffer, big.byteOffset + 2, HEAD.length + END_TLV.length);
    const result = decodeLldpdu(view);
    assert.ok(result.ok, JSON.stringify(result));
    assert.equal(result.neighbor.portId, 'eth0');
  });
});

describe('MAU types', () => {
  it('gives speed and duplex for the common types of RFC 4836 and IANA-MAU-MIB', () => {
    const mbit = 125_000;
    assert.deepEqual(mauTypeSpeed(5), { speedBytesPerSecond: 10 * mbit }); // 10BaseT: duplex unknown
    assert.deepEqual(mauTypeSpeed(10), { speedBytesPerSecond: 10 * mbit, duplex: 'half' });
    assert.deepEqual(mauTypeSpeed(15), { speedBytesPerSecond: 100 * mbit, duplex: 'half' });
    assert.deepEqual(mauTypeSpeed(16), { speedBytesPerSecond: 100 * mbit, duplex: 'full' });
    assert.deepEqual(mauTypeSpeed(30), { speedBytesPerSecond: 1000 * mbit, duplex: 'full' });
    assert.deepEqual(mauTypeSpeed(54), { speedBytesPerSecond: 10_000 * mbit, duplex: 'full' });
    assert.deepEqual(mauTypeSpeed(93), { speedBytesPerSecond: 25_000 * mbit, duplex: 'full' });
    assert.deepEqual(mauTypeSpeed(77), { speedBytesPerSecond: 100_000 * mbit, duplex: 'full' });
    assert.deepEqual(mauTypeSpeed(103), { speedBytesPerSecond: 2500 * mbit, duplex: 'full' });
  });

  it('gives nothing for AUI, variable-rate and unknown types', () => {
    for (const t of [0, 1, 42, 43, 59, 65535]) assert.equal(mauTypeSpeed(t), undefined, String(t));
  });
});

describe('decodeLldpdu properties', () => {
  const isResult = (r: LldpDecodeResult): boolean =>
    r.ok ? r.neighbor.ttlSeconds > 0 && r.neighbor.chassisId.length > 0 && r.neighbor.portId.length > 0 : LLDP_DROP_REASONS.includes(r.reason);

  it('any byte string gives ok or a listed reason, never a throw', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => isResult(decodeLldpdu(bytes))),
      { numRuns: RUNS },
    );
  });

  it('a valid LLDPDU cut or with one byte changed gives ok or a listed reason', () => {
    const base = Buffer.concat([HEAD, textTlv(5, 'leaf-07'), managementAddressTlv(1, [192, 0, 2, 7]), macPhyTlv(3, 0x8000, 30), END_TLV]);
    fc.assert(
      fc.property(fc.nat(base.length), fc.nat(base.length - 1), fc.integer({ min: 0, max: 255 }), (cut, at, value) => {
        const bytes = Buffer.from(base);
        bytes[at] = value;
        return isResult(decodeLldpdu(bytes.subarray(0, cut)));
      }),
      { numRuns: RUNS },
    );
  });

  // A generated LLDPDU: ids of each subtype, optional TLVs in any order, unknown TLVs between.
  const textBytes = fc.uint8Array({ minLength: 1, maxLength: 255 }).map((b) => Buffer.from(b));
  const idArb = (macSubtype: number, networkSubtype: number, textSubtypes: number[], hexSubtype?: number) =>
    fc.oneof(
      fc.record({ subtype: fc.constant(macSubtype), bytes: fc.uint8Array({ minLength: 6, maxLength: 6 }).map((b) => Buffer.from(b)) }),
      fc.record({ subtype: fc.constant(networkSubtype), bytes: fc.uint8Array({ minLength: 4, maxLength: 4 }).map((b) => Buffer.from([1, ...b])) }),
      fc.record({ subtype: fc.constant(networkSubtype), bytes: fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => Buffer.from([2, ...b])) }),
      fc.record({ subtype: fc.constantFrom(...textSubtypes), bytes: textBytes }),
      ...(hexSubtype === undefined ? [] : [fc.record({ subtype: fc.constant(hexSubtype), bytes: textBytes })]),
    );
  const optionalText = fc.option(fc.uint8Array({ maxLength: 255 }).map((b) => Buffer.from(b)), { nil: undefined });
  const lldpduArb = fc.record({
    chassis: idArb(4, 5, [1, 2, 3, 6, 7]),
    port: idArb(3, 4, [1, 2, 5, 7], 6),
    ttl: fc.integer({ min: 1, max: 65535 }),
    portDescription: optionalText,
    systemName: optionalText,
    systemDescription: optionalText,
    management: fc.option(fc.uint8Array({ minLength: 4, maxLength: 4 }), { nil: undefined }),
    macPhy: fc.option(fc.record({ autoneg: fc.integer({ min: 0, max: 255 }), advertised: fc.integer({ min: 0, max: 65535 }), mau: fc.integer({ min: 0, max: 65535 }) }), { nil: undefined }),
    unknown: fc.array(fc.record({ type: fc.integer({ min: 9, max: 126 }), value: fc.uint8Array({ maxLength: 40 }) }), { maxLength: 3 }),
    end: fc.boolean(),
    seed: fc.nat(),
  });

  /** Independent renderings: MAC and hex by hand, IPv6 by the WHATWG URL parser (RFC 5952 form). */
  const expectedId = (subtype: number, bytes: Buffer, mac: number, network: number, hexSubtype?: number): string | Buffer => {
    if (subtype === mac) return [...bytes].map((b) => b.toString(16).padStart(2, '0')).join(':');
    if (subtype === hexSubtype) return bytes.toString('hex');
    if (subtype === network) {
      if (bytes[0] === 1) return [...bytes.subarray(1)].join('.');
      const groups = [];
      for (let i = 1; i < 17; i += 2) groups.push(bytes.readUInt16BE(i).toString(16));
      return new URL(`http://[${groups.join(':')}]/`).hostname.slice(1, -1);
    }
    return bytes; // text: compared through encodeKernelText
  };
  const sameId = (decoded: string, expected: string | Buffer): boolean =>
    typeof expected === 'string' ? decoded === expected : encodeKernelText(decoded).equals(expected);

  it('encode → decode gives back every field of a generated valid LLDPDU', () => {
    fc.assert(
      fc.property(lldpduArb, (g) => {
        const optional: Buffer[] = [];
        if (g.portDescription !== undefined) optional.push(textTlv(4, g.portDescription));
        if (g.systemName !== undefined) optional.push(textTlv(5, g.systemName));
        if (g.systemDescription !== undefined) optional.push(textTlv(6, g.systemDescription));
        if (g.management !== undefined) optional.push(managementAddressTlv(1, Buffer.from(g.management)));
        if (g.macPhy !== undefined) optional.push(macPhyTlv(g.macPhy.autoneg, g.macPhy.advertised, g.macPhy.mau));
        for (const u of g.unknown) optional.push(tlv(u.type, Buffer.from(u.value)));
        // the optional TLVs in an order chosen by the seed
        const order = optional.map((b, i) => ({ b, k: (g.seed * 2654435761 + i * 40503) % 1009 })).sort((x, y) => x.k - y.k);
        const bytes = Buffer.concat([
          idTlv(1, g.chassis.subtype, g.chassis.bytes),
          idTlv(2, g.port.subtype, g.port.bytes),
          ttlTlv(g.ttl),
          ...order.map((o) => o.b),
          ...(g.end ? [END_TLV] : []),
        ]);
        const r = decodeLldpdu(bytes);
        assert.ok(r.ok, JSON.stringify(r));
        const n = r.neighbor;
        assert.equal(n.chassisIdSubtype, g.chassis.subtype);
        assert.ok(sameId(n.chassisId, expectedId(g.chassis.subtype, g.chassis.bytes, 4, 5)), `chassis ${n.chassisId}`);
        assert.equal(n.portIdSubtype, g.port.subtype);
        assert.ok(sameId(n.portId, expectedId(g.port.subtype, g.port.bytes, 3, 4, 6)), `port ${n.portId}`);
        assert.equal(n.ttlSeconds, g.ttl);
        const text = (s: string | undefined): Buffer | undefined => (s === undefined ? undefined : encodeKernelText(s));
        assert.deepEqual(text(n.portDescription), g.portDescription);
        assert.deepEqual(text(n.systemName), g.systemName);
        assert.deepEqual(text(n.systemDescription), g.systemDescription);
        assert.equal(n.managementAddress, g.management === undefined ? undefined : [...g.management].join('.'));
        if (g.macPhy === undefined) assert.equal(n.macPhy, undefined);
        else {
          assert.ok(n.macPhy);
          assert.equal(n.macPhy.autonegSupported, (g.macPhy.autoneg & 1) === 1);
          assert.equal(n.macPhy.autonegEnabled, (g.macPhy.autoneg & 2) === 2);
          assert.equal(n.macPhy.advertised, g.macPhy.advertised);
          assert.equal(n.macPhy.operationalMauType, g.macPhy.mau);
          assert.equal(n.macPhy.speedBytesPerSecond, mauTypeSpeed(g.macPhy.mau)?.speedBytesPerSecond);
        }
        // text from the wire never carries a control character or an unpaired surrogate
        for (const s of [n.chassisId, n.portId, n.portDescription ?? '', n.systemName ?? '', n.systemDescription ?? '']) {
          assert.ok(!/[\u0000-\u001f\u007f-\u009f]/.test(s), JSON.stringify(s));
          assert.ok(!/\p{Cs}/u.test(s), JSON.stringify(s));
        }
      }),
      { numRuns: RUNS },
    );
  });
});
