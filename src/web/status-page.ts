// The status page at "/" and GET /api/v1/links. The page is rendered on the server with the
// links as they are at the request (so without JavaScript the table is all there); the small
// script /static/status.js (status-script.ts, loaded only when asked for) then keeps it live
// from the event stream. Device names and aliases are untrusted (anyone with CAP_NET_ADMIN
// sets them): HTML-escaped here, JSON-encoded in the API, written with textContent by the
// script, and the Content-Security-Policy allows no inline script at all.

import { createHash } from 'node:crypto';
import { downSeconds, operStateName, type LinkState } from '../links/link-record.js';
import { CARRIER_CAUSES, shownCause, type CarrierLossLookup, type CarrierLosses } from '../links/carrier-causes.js';
import type { Neighbor } from '../lldp/neighbors.js';

export interface StatusSource {
  /** The exported links (after --collector.device-include/exclude). */
  links(): Iterable<LinkState>;
  /** With --collector.lldp: the link's LLDP neighbours (a Neighbour column, lldp_neighbors). */
  readonly neighbors?: (link: LinkState) => readonly Neighbor[];
  /** Their carrier losses by cause and last outage (carrier-causes.ts); none without it. */
  readonly losses?: CarrierLossLookup;
}

/** One LLDP neighbour in /api/v1/links. */
export interface NeighborJson {
  chassis_id: string;
  port_id: string;
  port_description?: string;
  system_name?: string;
  management_address?: string;
  /** kept only because the link lost carrier (or it announced shutdown) */
  stale: boolean;
  /** RFC 3339: its latest frame */
  last_seen: string;
}

function neighborJson(n: Neighbor): NeighborJson {
  return {
    chassis_id: n.chassisId,
    port_id: n.portId,
    ...(n.portDescription === undefined ? {} : { port_description: n.portDescription }),
    ...(n.systemName === undefined ? {} : { system_name: n.systemName }),
    ...(n.managementAddress === undefined ? {} : { management_address: n.managementAddress }),
    stale: n.stale,
    last_seen: new Date(n.lastSeenMs).toISOString(),
  };
}

/** "leaf-07 port Ethernet1/12", as the carrier-down alert names it; the chassis id without a system name. */
function neighborText(n: Neighbor): string {
  return `${escapeHtml(n.systemName ?? n.chassisId)} port ${escapeHtml(n.portId)}${n.stale ? ' <span class="muted">(stale)</span>' : ''}`;
}

export interface PageInfo {
  readonly name: string;
  readonly version: string;
  readonly telemetryPath: string;
}

export const SCRIPT_PATH = '/static/status.js';

const STYLE =
  'body{font-family:system-ui,sans-serif;margin:1.5em;line-height:1.4;color:#222}' +
  'code{background:#eee;padding:0 .2em}table{border-collapse:collapse;margin:.5em 0}' +
  'th,td{padding:.2em .6em;border-bottom:1px solid #ddd;text-align:left;vertical-align:top}' +
  'th{background:#f4f4f4}.up{color:#11632b}.down{color:#a4161a;font-weight:bold}' +
  'tr.down td{background:#fde8e8}.muted{color:#777}#filter{padding:.2em;min-width:16em}' +
  '#events{font-family:monospace;padding-left:1.2em;max-height:22em;overflow:auto;list-style:square}' +
  '#events li.down{color:#a4161a}header p{margin:.2em 0}';

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const STYLE_HASH = createHash('sha256').update(STYLE).digest('base64');

/** No inline script: scripts only from this origin, the stream from this origin, the one style by hash. */
export const STATUS_PAGE_CSP =
  `default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'sha256-${STYLE_HASH}'; ` +
  `img-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`;

/** The JSON shape of one link in /api/v1/links. */
export interface LinkJson {
  device: string;
  /** the link's network namespace (--collector.netns); absent for the exporter's own */
  netns?: string;
  alias?: string;
  ifindex: number;
  kind?: string;
  admin_up: boolean;
  carrier: boolean;
  oper_state: string;
  speed_mbps?: number;
  duplex?: string;
  carrier_changes: number;
  carrier_up_changes: number;
  carrier_down_changes: number;
  /** RFC 3339 with milliseconds, null until the exporter has seen a carrier change. */
  last_change: string | null;
  down_seconds: number;
  /** while without carrier: why (carrier-causes.ts); absent with carrier or until the kernel settles it */
  carrier_down_cause?: string;
  /** while held protodown: IFLA_PROTO_DOWN_REASON's bits, when set */
  protodown_reason?: number;
  /** carrier losses since the exporter first saw the link, by cause: counted causes only */
  carrier_losses: Record<string, number>;
  /** how long the last completed outage lasted; absent until one began and ended in view */
  last_down_duration_seconds?: number;
  /** with --collector.lldp only */
  lldp_neighbors?: NeighborJson[];
}

/** The counted causes of a link's losses, in CARRIER_CAUSES order. */
function lossesByCause(record: CarrierLosses | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  if (record === undefined) return out;
  for (let i = 0; i < CARRIER_CAUSES.length; i++) {
    const n = record.counts[i] ?? 0;
    if (n > 0) out[CARRIER_CAUSES[i] as string] = n;
  }
  return out;
}

export function linkJson(link: LinkState, nowMs: number, losses?: CarrierLossLookup, neighbors?: readonly Neighbor[]): LinkJson {
  const cause = shownCause(link);
  const record = losses?.(link);
  const json: LinkJson = {
    device: link.name,
    ...(link.netns === undefined ? {} : { netns: link.netns }),
    ...(link.ifalias === undefined || link.ifalias === '' ? {} : { alias: link.ifalias }),
    ifindex: link.ifindex,
    ...(link.kind === undefined ? {} : { kind: link.kind }),
    admin_up: link.adminUp,
    carrier: link.carrier,
    oper_state: operStateName(link.operstate),
    ...(link.speedMbps === undefined ? {} : { speed_mbps: link.speedMbps }),
    ...(link.duplex === undefined ? {} : { duplex: link.duplex }),
    carrier_changes: link.carrierChanges,
    carrier_up_changes: link.carrierUpChanges,
    carrier_down_changes: link.carrierDownChanges,
    last_change: link.lastChangeMs === undefined ? null : new Date(link.lastChangeMs).toISOString(),
    down_seconds: downSeconds(link, nowMs),
    ...(cause === undefined ? {} : { carrier_down_cause: cause }),
    ...(link.protoDown && link.protoDownReason !== undefined ? { protodown_reason: link.protoDownReason } : {}),
    carrier_losses: lossesByCause(record),
    ...(record?.lastDownSeconds === undefined ? {} : { last_down_duration_seconds: record.lastDownSeconds }),
    ...(neighbors === undefined ? {} : { lldp_neighbors: neighbors.map(neighborJson) }),
  };
  return json;
}

export function sortedLinks(source: StatusSource): LinkState[] {
  // The exporter's own namespace first, then by namespace; ifindexes repeat across namespaces.
  return [...source.links()].sort((a, b) => {
    const x = a.netns ?? '';
    const y = b.netns ?? '';
    return x === y ? a.ifindex - b.ifindex : x < y ? -1 : 1;
  });
}

/** Rows per piece of a streamed page or JSON body: the server yields to the event loop between pieces. */
export const ROWS_PER_CHUNK = 250;

/** The /api/v1/links body in pieces of ROWS_PER_CHUNK links, each rendered when asked for. */
export function* linksJsonChunks(source: StatusSource, nowMs: number): Generator<string> {
  const links = sortedLinks(source);
  yield '{"links":[';
  for (let i = 0; i < links.length; i += ROWS_PER_CHUNK) {
    const part = links.slice(i, i + ROWS_PER_CHUNK).map((link) => JSON.stringify(linkJson(link, nowMs, source.losses, source.neighbors?.(link))));
    yield (i === 0 ? '' : ',') + part.join(',');
  }
  yield ']}\n';
}

export function renderLinksJson(source: StatusSource, nowMs: number): string {
  return [...linksJsonChunks(source, nowMs)].join('');
}

/** "3 min ago" for the server-rendered page (the script keeps it current). */
export function ago(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86400)} d ago`;
}

function stateWord(link: LinkState): 'up' | 'down' {
  return link.adminUp && link.carrier ? 'up' : 'down';
}

function row(link: LinkState, nowMs: number, losses: CarrierLossLookup | undefined, neighbors: readonly Neighbor[] | undefined): string {
  const state = stateWord(link);
  const name = escapeHtml(link.name);
  const netns = link.netns === undefined ? '' : escapeHtml(link.netns);
  const alias = link.ifalias === undefined || link.ifalias === '' ? '' : escapeHtml(link.ifalias);
  const last =
    link.lastChangeMs === undefined
      ? '<td class="last muted">not since start</td>'
      : `<td class="last" data-time="${new Date(link.lastChangeMs).toISOString()}" title="${new Date(link.lastChangeMs).toISOString()}">${ago(nowMs - link.lastChangeMs)}</td>`;
  const cause = shownCause(link);
  const why =
    cause === undefined
      ? '<td class="cause"></td>'
      : cause === 'protodown' && link.protoDownReason !== undefined
        ? `<td class="cause" title="protodown reason 0x${link.protoDownReason.toString(16)}">protodown (reason 0x${link.protoDownReason.toString(16)})</td>`
        : `<td class="cause">${cause}</td>`;
  const byCause = lossesByCause(losses?.(link));
  const lossText = Object.entries(byCause)
    .map(([c, n]) => `${c} ${n}`)
    .join(', ');
  const speed = link.speedMbps === undefined ? '' : `${link.speedMbps} Mb/s${link.duplex === undefined ? '' : ` ${escapeHtml(link.duplex)}`}`;
  return (
    `<tr class="${state}" data-ifindex="${link.ifindex}" data-device="${name}"${netns === '' ? '' : ` data-netns="${netns}"`}>` +
    `<td class="device">${name}</td><td class="netns">${netns}</td><td class="alias">${alias}</td>` +
    `<td class="state ${state}">${state}</td>` +
    `<td class="admin">${link.adminUp ? 'up' : 'down'}</td>` +
    `<td class="carrier">${link.carrier ? 'up' : 'down'}</td>` +
    `<td class="oper">${escapeHtml(operStateName(link.operstate))}</td>` +
    why +
    last +
    `<td class="flaps">${link.carrierDownChanges}</td>` +
    `<td class="losses" data-losses="${escapeHtml(JSON.stringify(byCause))}">${escapeHtml(lossText)}</td>` +
    `<td class="speed">${speed}</td>` +
    (neighbors === undefined ? '' : `<td class="neighbor">${neighbors.map(neighborText).join('<br>')}</td>`) +
    '</tr>\n'
  );
}

/** The page in pieces (head, ROWS_PER_CHUNK rows at a time, tail), each rendered when asked for. */
export function* statusPageChunks(info: PageInfo, source: StatusSource, nowMs: number): Generator<string> {
  const name = escapeHtml(info.name);
  const path = escapeHtml(info.telemetryPath);
  const links = sortedLinks(source);
  let down = 0;
  for (const link of links) if (stateWord(link) === 'down') down += 1;
  yield `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${name}</title>
<style>${STYLE}</style>
<script src="${SCRIPT_PATH}" defer></script>
</head>
<body>
<header>
<h1>${name}</h1>
<p>Version <code>${escapeHtml(info.version)}</code> · <a href="${path}">Metrics</a> (<code>${path}</code>) · <a href="/api/v1/links">Links as JSON</a> · <a href="/-/healthy">Health</a> · <a href="/-/ready">Readiness</a></p>
<p id="summary"><span id="counts">${links.length} links, ${down} down</span>, as of <time datetime="${new Date(nowMs).toISOString()}">${new Date(nowMs).toISOString()}</time></p>
</header>
<h2>Links</h2>
<p><label>Filter <input id="filter" type="search" placeholder="device, alias or state" autocomplete="off"></label> <span id="stream" class="muted"></span></p>
<table id="links">
<thead><tr><th>Device</th><th title="network namespace (--collector.netns); empty for the exporter's own">Namespace</th><th>Alias</th><th>State</th><th>Admin</th><th>Carrier</th><th>Oper state</th><th title="why the link has no carrier now: admin, protodown, lower_layer, no_active_members or carrier">Cause</th><th>Last change</th><th title="carrier down transitions the kernel counted (IFLA_CARRIER_DOWN_COUNT)">Flaps</th><th title="carrier losses since the exporter started, by cause (unknown: counted by the kernel, never announced)">Losses</th><th>Speed</th>${source.neighbors === undefined ? '' : '<th class="neighbor" title="LLDP neighbour: system name (or chassis id) and port; stale: kept after the link lost carrier">Neighbour</th>'}</tr></thead>
<tbody>
`;
  for (let i = 0; i < links.length; i += ROWS_PER_CHUNK) {
    let rows = '';
    for (const link of links.slice(i, i + ROWS_PER_CHUNK)) rows += row(link, nowMs, source.losses, source.neighbors?.(link));
    yield rows;
  }
  yield `</tbody>
</table>
<h2>Recent events</h2>
<ul id="events"><li class="muted" id="no-events">Live events appear here (JavaScript needed); <code>GET /api/v1/events</code> streams them.</li></ul>
</body>
</html>
`;
}

export function renderStatusPage(info: PageInfo, source: StatusSource, nowMs: number): string {
  return [...statusPageChunks(info, source, nowMs)].join('');
}
