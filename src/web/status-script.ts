// The status page's script, served as /static/status.js (never inline: the page's
// Content-Security-Policy forbids inline scripts). Plain ES2017, no build step, no library.
// It filters the table, keeps "3 min ago" current, lists events from GET /api/v1/events and
// applies live ones to the rows. Untrusted text (device names, aliases) only goes through
// textContent, never innerHTML. This module is imported only when the script is requested.
import { CARRIER_CAUSES } from '../links/carrier-causes.js';

export const STATUS_SCRIPT = `'use strict';
(function () {
  var tbody = document.querySelector('#links tbody');
  var list = document.getElementById('events');
  var filter = document.getElementById('filter');
  var streamNote = document.getElementById('stream');
  var MAX_EVENTS = 200;
  var CAUSES = ${JSON.stringify(CARRIER_CAUSES)};
  var live = false;

  function ago(ms) {
    var s = Math.max(0, Math.round(ms / 1000));
    if (s < 60) return s + ' s ago';
    if (s < 3600) return Math.floor(s / 60) + ' min ago';
    if (s < 86400) return Math.floor(s / 3600) + ' h ago';
    return Math.floor(s / 86400) + ' d ago';
  }
  function cell(tr, name) { return tr.querySelector('td.' + name); }
  function setWord(td, word) { td.textContent = word; }
  function refreshRow(tr) {
    var admin = cell(tr, 'admin').textContent, carrier = cell(tr, 'carrier').textContent;
    var state = admin === 'up' && carrier === 'up' ? 'up' : 'down';
    tr.className = state;
    var td = cell(tr, 'state');
    td.className = 'state ' + state;
    td.textContent = state;
  }
  function setLast(tr, iso) {
    var td = cell(tr, 'last');
    td.className = 'last';
    td.setAttribute('data-time', iso);
    td.title = iso;
    td.textContent = ago(Date.now() - Date.parse(iso));
  }
  function setCause(tr, cause, reason) {
    var td = cell(tr, 'cause');
    var bits = cause === 'protodown' && reason !== undefined ? '0x' + Number(reason).toString(16) : '';
    td.textContent = (cause || '') + (bits === '' ? '' : ' (reason ' + bits + ')');
    if (bits !== '') td.title = 'protodown reason ' + bits;
    else td.removeAttribute('title');
  }
  function setLosses(tr, losses) {
    var td = cell(tr, 'losses');
    var parts = [];
    CAUSES.forEach(function (c) { if (losses[c] > 0) parts.push(c + ' ' + Number(losses[c])); });
    td.setAttribute('data-losses', JSON.stringify(losses));
    td.textContent = parts.join(', ');
  }
  function addLosses(tr, cause, n) {
    if (CAUSES.indexOf(cause) < 0) return;
    var losses = {};
    try { losses = JSON.parse(cell(tr, 'losses').getAttribute('data-losses') || '{}'); } catch (err) { losses = {}; }
    losses[cause] = (Number(losses[cause]) || 0) + n;
    setLosses(tr, losses);
  }
  function tick() {
    var cells = document.querySelectorAll('td[data-time]');
    for (var i = 0; i < cells.length; i++) cells[i].textContent = ago(Date.now() - Date.parse(cells[i].getAttribute('data-time')));
  }
  function counts() {
    var el = document.getElementById('counts');
    if (el) el.textContent = tbody.rows.length + ' links, ' + tbody.querySelectorAll('tr.down').length + ' down';
  }
  function applyFilter() {
    var q = filter.value.trim().toLowerCase();
    var rows = tbody.rows;
    for (var i = 0; i < rows.length; i++) rows[i].hidden = q !== '' && rows[i].textContent.toLowerCase().indexOf(q) < 0;
    counts();
  }
  function makeRow(l) {
    var tr = document.createElement('tr');
    tr.setAttribute('data-ifindex', String(l.ifindex));
    tr.setAttribute('data-device', l.device);
    if (l.netns !== undefined) tr.setAttribute('data-netns', l.netns);
    var columns = ['device', 'netns', 'alias', 'state', 'admin', 'carrier', 'oper', 'cause', 'last', 'flaps', 'losses', 'speed'];
    if (l.lldp_neighbors !== undefined) columns.push('neighbor');
    columns.forEach(function (c) {
      var td = document.createElement('td'); td.className = c; tr.appendChild(td);
    });
    cell(tr, 'device').textContent = l.device;
    cell(tr, 'netns').textContent = l.netns || '';
    cell(tr, 'alias').textContent = l.alias || '';
    setWord(cell(tr, 'admin'), l.admin_up ? 'up' : 'down');
    setWord(cell(tr, 'carrier'), l.carrier ? 'up' : 'down');
    cell(tr, 'oper').textContent = l.oper_state;
    if (l.last_change) setLast(tr, l.last_change);
    else { cell(tr, 'last').textContent = 'not since start'; cell(tr, 'last').className = 'last muted'; }
    cell(tr, 'flaps').textContent = String(l.carrier_down_changes);
    setCause(tr, l.carrier_down_cause, l.protodown_reason);
    setLosses(tr, l.carrier_losses || {});
    cell(tr, 'speed').textContent = l.speed_mbps === undefined ? '' : l.speed_mbps + ' Mb/s' + (l.duplex ? ' ' + l.duplex : '');
    if (l.lldp_neighbors !== undefined) {
      var td = cell(tr, 'neighbor');
      l.lldp_neighbors.forEach(function (n, i) {
        if (i > 0) td.appendChild(document.createElement('br'));
        td.appendChild(document.createTextNode((n.system_name || n.chassis_id) + ' port ' + n.port_id));
        if (n.stale) { var s = document.createElement('span'); s.className = 'muted'; s.textContent = ' (stale)'; td.appendChild(s); }
      });
    }
    refreshRow(tr);
    return tr;
  }
  var reloading = false;
  function reloadLinks() {
    if (reloading) return;
    reloading = true;
    fetch('/api/v1/links', { credentials: 'same-origin' }).then(function (r) { return r.json(); }).then(function (body) {
      var fresh = document.createDocumentFragment();
      body.links.forEach(function (l) { fresh.appendChild(makeRow(l)); });
      tbody.textContent = '';
      tbody.appendChild(fresh);
      applyFilter();
    }).catch(function () {}).then(function () { reloading = false; });
  }
  function addEvent(e) {
    var none = document.getElementById('no-events');
    if (none) none.remove();
    var li = document.createElement('li');
    var down = e.to === 'down' || e.to === 'lowerlayerdown' || e.to === 'notpresent';
    li.className = down ? 'down' : 'up';
    var time = document.createElement('time');
    time.setAttribute('datetime', e.time);
    time.title = e.time;
    time.textContent = new Date(e.time).toLocaleTimeString();
    li.appendChild(time);
    li.appendChild(document.createTextNode(' ' + e.device + (e.netns !== undefined ? ' (' + e.netns + ')' : '') + ' ' + e.type + ' ' + e.from + ' \\u2192 ' + e.to + (e.cause ? ', cause ' + e.cause : '') + ' (carrier changes ' + e.carrier_changes + ')'));
    list.insertBefore(li, list.firstChild);
    while (list.children.length > MAX_EVENTS) list.removeChild(list.lastChild);
  }
  function applyEvent(e) {
    // ifindexes repeat across namespaces: the row is the one of this ifindex and namespace.
    var tr = null;
    for (var i = 0; i < tbody.rows.length && !tr; i++) {
      var r = tbody.rows[i];
      if (r.getAttribute('data-ifindex') === String(Number(e.ifindex)) && (r.getAttribute('data-netns') || '') === (e.netns || '')) tr = r;
    }
    if (!tr || tr.getAttribute('data-device') !== e.device) { reloadLinks(); return; }
    if (e.type === 'admin') setWord(cell(tr, 'admin'), e.to);
    else if (e.type === 'carrier') { setWord(cell(tr, 'carrier'), e.to); setLast(tr, e.time); }
    else cell(tr, 'oper').textContent = e.to;
    if (e.type === 'carrier' && e.to === 'down') cell(tr, 'flaps').textContent = String(Number(cell(tr, 'flaps').textContent) + 1);
    // the cause of the outage as the event says it; a carrier loss counted under it, and the
    // losses nobody announced under unknown
    setCause(tr, cell(tr, 'carrier').textContent === 'down' ? e.cause : undefined, e.protodown_reason);
    if (e.type === 'carrier' && e.from === 'up' && e.to === 'down' && e.cause) addLosses(tr, e.cause, 1);
    if (e.unannounced_losses > 0) addLosses(tr, 'unknown', Number(e.unannounced_losses));
    refreshRow(tr);
    applyFilter();
  }

  filter.addEventListener('input', applyFilter);
  setInterval(tick, 5000);
  if (!window.EventSource) return;
  var source = new EventSource('/api/v1/events');
  source.addEventListener('link', function (m) {
    var e = JSON.parse(m.data);
    addEvent(e);
    if (live) applyEvent(e);
  });
  source.addEventListener('live', function () {
    // After a reconnect the rows may have missed events: read them afresh.
    if (streamNote.textContent !== '') reloadLinks();
    live = true;
    streamNote.textContent = 'live';
  });
  source.onerror = function () { live = false; streamNote.textContent = 'reconnecting\\u2026'; };
})();
`;
