// Records LLDP fixtures (run as root: `npm run build --silent && node dist/scripts/record-lldp-fixtures.js`).
//
// Captured part: Debian's lldpd in a throwaway namespace at one end of a veth (peer0), sending
// every second; at the other end (cap0, another namespace) tcpdump captures what arrives, and a
// second lldpd in receive-only mode decodes the same frames as an independent view. Each step
// changes lldpd's settings with lldpcli, waits until two consecutive frames agree, and records
// the last one: test/fixtures/lldp/lldpd-NN-step.bin (the whole Ethernet frame as received) and
// beside it .json: { step, description, source: 'lldpd', destination, sourceMac, ethertype,
// decode (this tree's decodeLldpdu of the payload, for review), lldpd (the receiver's view, or
// null once it dropped the neighbour) }. The last step stops lldpd, which sends a shutdown
// LLDPDU (TTL 0).
//
// Built part: LLDPDUs for what lldpd does not send (other id subtypes, an autonegotiating
// 1000BASE-T partner, an unknown MAU type, no End TLV, Ethernet padding, a management address
// of another family, bytes that are not UTF-8), built to the 802.1AB layout as built-*.bin with
// a .json whose `decode` is written by hand, not the decoder's output.
//
// Options: `--built-only` rewrites only the built files (no root needed).
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import { decodeLldpdu, type LldpDecodeResult } from '../src/lldp/lldpdu.js';
import {
  END_TLV,
  ethernetFrame,
  idTlv,
  macPhyTlv,
  managementAddressTlv,
  textTlv,
  tlv,
  ttlTlv,
  type LldpFixtureRecord,
} from '../test/helpers/lldp-bytes.js';
import { lldpdNeighbors, startLldpd, type Lldpd } from '../test/helpers/lldpd.js';
import { createNetns, type Netns } from '../test/helpers/netns.js';

// dist/scripts/record-lldp-fixtures.js → <repo>/test/fixtures/lldp
const OUT_DIR = fileURLToPath(new URL('../../test/fixtures/lldp/', import.meta.url));
const SENDER_MAC = '02:00:5e:10:00:07';
const CAPTURE_MAC = '02:00:5e:10:00:12';

const macText = (buf: Buffer, at: number): string => [...buf.subarray(at, at + 6)].map((b) => b.toString(16).padStart(2, '0')).join(':');

function record(base: string, frame: Buffer, rec: Omit<LldpFixtureRecord, 'destination' | 'sourceMac' | 'ethertype'>): void {
  const full: LldpFixtureRecord = {
    step: rec.step,
    description: rec.description,
    source: rec.source,
    destination: macText(frame, 0),
    sourceMac: macText(frame, 6),
    ethertype: frame.readUInt16BE(12),
    decode: rec.decode,
    ...(rec.lldpd !== undefined ? { lldpd: rec.lldpd } : {}),
  };
  writeFileSync(join(OUT_DIR, `${base}.bin`), frame);
  writeFileSync(join(OUT_DIR, `${base}.json`), JSON.stringify(full, null, 2) + '\n');
}

/** Frames from tcpdump's pcap stream (`-w -`), as they arrive. */
class Capture {
  readonly frames: Buffer[] = [];
  private pending = Buffer.alloc(0);
  private headerSeen = false;
  private readonly stop: () => void;

  constructor(netns: Netns, iface: string) {
    const child = netns.spawn('tcpdump', ['-i', iface, '-Q', 'in', '-U', '-w', '-', 'ether', 'proto', '0x88cc'], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    child.stdout?.on('data', (chunk: Buffer) => this.feed(chunk));
    this.stop = () => child.kill('SIGTERM');
  }

  private feed(chunk: Buffer): void {
    this.pending = Buffer.concat([this.pending, chunk]);
    if (!this.headerSeen) {
      if (this.pending.length < 24) return;
      if (this.pending.readUInt32LE(0) !== 0xa1b2c3d4) throw new Error('not a little-endian pcap stream');
      this.pending = this.pending.subarray(24);
      this.headerSeen = true;
    }
    while (this.pending.length >= 16) {
      const caplen = this.pending.readUInt32LE(8);
      if (this.pending.length < 16 + caplen) return;
      this.frames.push(Buffer.from(this.pending.subarray(16, 16 + caplen)));
      this.pending = this.pending.subarray(16 + caplen);
    }
  }

  /** Waits for two consecutive frames, received after `since` frames, that are identical. */
  async settled(since: number, what: string): Promise<Buffer> {
    for (let i = 0; i < 100; i++) {
      const n = this.frames.length;
      if (n - since >= 2 && this.frames[n - 1]!.equals(this.frames[n - 2]!)) return this.frames[n - 1]!;
      await delay(100);
    }
    throw new Error(`no settled frame for ${what}`);
  }

  /** Waits for a frame after `since` that satisfies `test`. */
  async next(since: number, what: string, test: (frame: Buffer) => boolean): Promise<Buffer> {
    for (let i = 0; i < 100; i++) {
      const found = this.frames.slice(since).find(test);
      if (found !== undefined) return found;
      await delay(100);
    }
    throw new Error(`no frame for ${what}`);
  }

  close(): void {
    this.stop();
  }
}

interface Step {
  name: string;
  description: string;
  commands: string[][];
}

const STEPS: Step[] = [
  {
    name: 'port-ifname',
    description: 'lldpd with system name leaf-07, port id subtype interface name (peer0, also the default port description), MAC chassis id, IPv4 and IPv6 management addresses, the 802.3 MAC/PHY TLV of a veth',
    commands: [
      ['configure', 'lldp', 'tx-interval', '1'],
      ['configure', 'system', 'hostname', 'leaf-07'],
      ['configure', 'lldp', 'portidsubtype', 'ifname'],
      ['resume'],
    ],
  },
  {
    name: 'port-macaddress',
    description: 'port id subtype MAC address',
    commands: [['configure', 'lldp', 'portidsubtype', 'macaddress']],
  },
  {
    name: 'leaf-07-local-port',
    description: 'lldpd as a switch port: port id Ethernet1/12 (subtype local) and a port description set for the port',
    commands: [['configure', 'ports', 'peer0', 'lldp', 'portidsubtype', 'local', 'Ethernet1/12', 'description', 'uplink to db-12 eth3']],
  },
  {
    name: 'chassis-local',
    description: 'chassis id set by hand (subtype local)',
    commands: [['configure', 'system', 'chassisid', 'leaf-07.example']],
  },
  {
    name: 'text-utf8-control',
    description: 'UTF-8 and control characters from the wire: a system name with ü, a port description holding ESC [31m and a tab',
    commands: [
      ['configure', 'system', 'hostname', 'leaf-07-zürich'],
      ['configure', 'ports', 'peer0', 'lldp', 'portidsubtype', 'local', 'Ethernet1/12', 'description', 'rack 4\x1b[31m red\tport'],
    ],
  },
];

async function recordCaptured(): Promise<void> {
  const sender = await createNetns('lldprec-tx');
  const receiver = await createNetns('lldprec-rx');
  let tx: Lldpd | undefined;
  let rx: Lldpd | undefined;
  let capture: Capture | undefined;
  try {
    await sender.ipBatch([`link add peer0 address ${SENDER_MAC} type veth peer name cap0 address ${CAPTURE_MAC} netns ${receiver.name}`, 'link set peer0 up', 'address add 192.0.2.7/24 dev peer0']);
    await receiver.ipBatch(['link set cap0 up']);
    capture = new Capture(receiver, 'cap0');
    rx = await startLldpd(receiver, 'cap0', { receiveOnly: true });
    await rx.cli(['resume']);
    tx = await startLldpd(sender, 'peer0');
    // the IPv6 link-local address must be there before lldpd's first frame (DAD)
    await delay(2500);
    let n = 0;
    for (const step of STEPS) {
      n += 1;
      const since = capture.frames.length;
      for (const command of step.commands) await tx.cli(command);
      const frame = await capture.settled(since, step.name);
      const views = await lldpdNeighbors(rx, 'cap0');
      if (views.length !== 1) throw new Error(`${step.name}: the receiving lldpd holds ${views.length} neighbours`);
      record(`lldpd-${String(n).padStart(2, '0')}-${step.name}`, frame, {
        step: step.name,
        description: step.description,
        source: 'lldpd',
        decode: decodeLldpdu(frame.subarray(14)),
        lldpd: views[0]!,
      });
      console.log(`recorded ${step.name} (${frame.length} bytes)`);
    }
    n += 1;
    const since = capture.frames.length;
    await tx.stop();
    const shutdown = await capture.next(since, 'shutdown', (frame) => {
      const decoded = decodeLldpdu(frame.subarray(14));
      return !decoded.ok && decoded.reason === 'shutdown';
    });
    await delay(300);
    const views = await lldpdNeighbors(rx, 'cap0');
    record(`lldpd-${String(n).padStart(2, '0')}-shutdown`, shutdown, {
      step: 'shutdown',
      description: 'lldpd stopped (SIGTERM): its shutdown LLDPDU, TTL 0, after which the receiver drops the neighbour',
      source: 'lldpd',
      decode: decodeLldpdu(shutdown.subarray(14)),
      lldpd: views[0] ?? null,
    });
    console.log(`recorded shutdown (${shutdown.length} bytes)`);
  } finally {
    capture?.close();
    await tx?.stop();
    await rx?.stop();
    await sender.destroy();
    await receiver.destroy();
  }
}

const BUILT_SOURCE = [0x02, 0x00, 0x5e, 0x10, 0x00, 0x99];
const mac = Buffer.from([0x02, 0x00, 0x5e, 0x10, 0x00, 0x99]);

interface Built {
  name: string;
  description: string;
  payload: Buffer;
  decode: LldpDecodeResult;
}

const BUILT: Built[] = [
  {
    name: 'chassis-ipv4-port-ipv6',
    description: 'chassis id subtype network address (IPv4 192.0.2.1), port id subtype network address (IPv6 2001:db8::12)',
    payload: Buffer.concat([
      idTlv(1, 5, Buffer.from([1, 192, 0, 2, 1])),
      idTlv(2, 4, Buffer.from([2, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x12])),
      ttlTlv(120),
      END_TLV,
    ]),
    decode: { ok: true, neighbor: { chassisIdSubtype: 5, chassisId: '192.0.2.1', portIdSubtype: 4, portId: '2001:db8::12', ttlSeconds: 120 } },
  },
  {
    name: 'port-agent-circuit-id',
    description: 'chassis id subtype chassis component (text), port id subtype agent circuit id (RFC 3046 bytes, shown hex)',
    payload: Buffer.concat([idTlv(1, 1, 'slot-3'), idTlv(2, 6, Buffer.from([0x01, 0x04, 0x00, 0x0a, 0xff, 0x00])), ttlTlv(30), END_TLV]),
    decode: { ok: true, neighbor: { chassisIdSubtype: 1, chassisId: 'slot-3', portIdSubtype: 6, portId: '0104000aff00', ttlSeconds: 30 } },
  },
  {
    name: 'macphy-1000baset-autoneg',
    description: 'a switch port that autonegotiated 1000BASE-T full duplex (MAU 30), advertising 100BASE-TX FD and 1000BASE-T FD, interface alias ids',
    payload: Buffer.concat([
      idTlv(1, 4, mac),
      idTlv(2, 1, 'Gi1/0/24'),
      ttlTlv(120),
      textTlv(5, 'access-sw-3'),
      macPhyTlv(0x03, 0x0401, 30),
      END_TLV,
    ]),
    decode: {
      ok: true,
      neighbor: {
        chassisIdSubtype: 4,
        chassisId: '02:00:5e:10:00:99',
        portIdSubtype: 1,
        portId: 'Gi1/0/24',
        ttlSeconds: 120,
        systemName: 'access-sw-3',
        macPhy: { autonegSupported: true, autonegEnabled: true, advertised: 0x0401, operationalMauType: 30, speedBytesPerSecond: 125_000_000, duplex: 'full' },
      },
    },
  },
  {
    name: 'macphy-twice-100g',
    description: 'two MAC/PHY TLVs: the first (100GBASE-SR4, MAU 102, autoneg supported but off) is kept, the second (10BASE-T FD) ignored',
    payload: Buffer.concat([idTlv(1, 4, mac), idTlv(2, 5, 'swp12'), ttlTlv(120), macPhyTlv(0x01, 0, 102), macPhyTlv(0x00, 0, 11), END_TLV]),
    decode: {
      ok: true,
      neighbor: {
        chassisIdSubtype: 4,
        chassisId: '02:00:5e:10:00:99',
        portIdSubtype: 5,
        portId: 'swp12',
        ttlSeconds: 120,
        macPhy: { autonegSupported: true, autonegEnabled: false, advertised: 0, operationalMauType: 102, speedBytesPerSecond: 12_500_000_000, duplex: 'full' },
      },
    },
  },
  {
    name: 'macphy-unknown-mau',
    description: 'MAC/PHY TLV with MAU type 0 (none known): the TLV is decoded, without speed or duplex',
    payload: Buffer.concat([idTlv(1, 4, mac), idTlv(2, 5, 'swp13'), ttlTlv(120), macPhyTlv(0x00, 0x8000, 0), END_TLV]),
    decode: {
      ok: true,
      neighbor: {
        chassisIdSubtype: 4,
        chassisId: '02:00:5e:10:00:99',
        portIdSubtype: 5,
        portId: 'swp13',
        ttlSeconds: 120,
        macPhy: { autonegSupported: false, autonegEnabled: false, advertised: 0x8000, operationalMauType: 0 },
      },
    },
  },
  {
    name: 'no-end-tlv',
    description: 'no End TLV (802.1AB-2016 made it optional): the last TLV ends with the frame',
    payload: Buffer.concat([idTlv(1, 7, 'leaf-08'), idTlv(2, 7, 'Ethernet1/1'), ttlTlv(90), textTlv(4, 'to db-13')]),
    decode: { ok: true, neighbor: { chassisIdSubtype: 7, chassisId: 'leaf-08', portIdSubtype: 7, portId: 'Ethernet1/1', ttlSeconds: 90, portDescription: 'to db-13' } },
  },
  {
    name: 'padded',
    description: 'a short LLDPDU padded with zeros to the 46-byte Ethernet minimum, as a NIC sends it',
    payload: (() => {
      const body = Buffer.concat([idTlv(1, 4, mac), idTlv(2, 3, mac), ttlTlv(120), END_TLV]);
      return Buffer.concat([body, Buffer.alloc(46 - body.length)]);
    })(),
    decode: { ok: true, neighbor: { chassisIdSubtype: 4, chassisId: '02:00:5e:10:00:99', portIdSubtype: 3, portId: '02:00:5e:10:00:99', ttlSeconds: 120 } },
  },
  {
    name: 'mgmt-other-family',
    description: 'first management address of IANA family 6 (802 MAC, shown hex with its family byte), then an IPv4 one that is not used',
    payload: Buffer.concat([
      idTlv(1, 4, mac),
      idTlv(2, 5, 'eth1'),
      ttlTlv(120),
      managementAddressTlv(6, mac),
      managementAddressTlv(1, [198, 51, 100, 4], 7, Buffer.from([0x2b, 0x06, 0x01])),
      END_TLV,
    ]),
    decode: { ok: true, neighbor: { chassisIdSubtype: 4, chassisId: '02:00:5e:10:00:99', portIdSubtype: 5, portId: 'eth1', ttlSeconds: 120, managementAddress: '0602005e100099' } },
  },
  {
    name: 'text-not-utf8',
    description: 'a system name and interface-name port id with bytes that are not UTF-8 (0xff, a lone 0xc3), and a text spelling \\x: escaped, losslessly',
    payload: Buffer.concat([
      idTlv(1, 4, mac),
      idTlv(2, 5, Buffer.from([0x65, 0x74, 0x68, 0xff])),
      ttlTlv(120),
      textTlv(5, Buffer.from([0x73, 0x77, 0xc3, 0x2d, 0x31])),
      textTlv(6, 'path C:\\x64'),
      END_TLV,
    ]),
    decode: {
      ok: true,
      neighbor: {
        chassisIdSubtype: 4,
        chassisId: '02:00:5e:10:00:99',
        portIdSubtype: 5,
        portId: 'eth\\xff',
        ttlSeconds: 120,
        systemName: 'sw\\xc3-1',
        systemDescription: 'path C:\\\\x64',
      },
    },
  },
  {
    name: 'unknown-tlvs-skipped',
    description: 'a system capabilities TLV, a reserved type (9) and another organisation (802.1, OUI 00-80-C2) between the mandatory TLVs and End: skipped',
    payload: Buffer.concat([
      idTlv(1, 4, mac),
      idTlv(2, 5, 'eth2'),
      ttlTlv(120),
      tlv(7, [0x00, 0x14, 0x00, 0x04]),
      tlv(9, [1, 2, 3]),
      tlv(127, [0x00, 0x80, 0xc2, 0x01, 0x00, 0x01]),
      END_TLV,
    ]),
    decode: { ok: true, neighbor: { chassisIdSubtype: 4, chassisId: '02:00:5e:10:00:99', portIdSubtype: 5, portId: 'eth2', ttlSeconds: 120 } },
  },
];

function recordBuilt(): boolean {
  let agrees = true;
  for (const built of BUILT) {
    const frame = ethernetFrame(BUILT_SOURCE, built.payload);
    const decoded = decodeLldpdu(built.payload);
    if (!isDeepStrictEqual(JSON.parse(JSON.stringify(decoded)), JSON.parse(JSON.stringify(built.decode)))) {
      console.error(`decoder disagrees with built-${built.name}:\n${JSON.stringify(decoded, null, 2)}`);
      agrees = false;
    }
    record(`built-${built.name}`, frame, { step: built.name, description: built.description, source: 'built', decode: built.decode });
  }
  return agrees;
}

async function main(): Promise<void> {
  const builtOnly = process.argv.includes('--built-only');
  mkdirSync(OUT_DIR, { recursive: true });
  for (const file of readdirSync(OUT_DIR)) {
    if (file.startsWith('built-') || (!builtOnly && file.startsWith('lldpd-'))) rmSync(join(OUT_DIR, file));
  }
  const agrees = recordBuilt();
  if (!builtOnly) {
    if (process.getuid?.() !== 0) throw new Error('recording from lldpd needs root (or use --built-only)');
    await recordCaptured();
  }
  if (!agrees) process.exitCode = 1;
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exitCode = 1;
});
