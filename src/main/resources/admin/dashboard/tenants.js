// tenants.js: one card per tenant (routes, script, rates, chart, backends table with
// Drain/Undrain). Cards and rows are created once, keyed by tenant and backend name, then
// updated in place, so a button is never replaced under the pointer between mousedown and
// click. Every API string goes into the DOM as text (KS.el / textContent), never as HTML.
(function (KS) {
  'use strict';

  var el = KS.el, setText = KS.setText, setAttr = KS.setAttr;
  var cards = new Map();   // tenant name -> card (DOM nodes + previous snapshot + samples)
  var emptyNode = null;    // "no tenants" note, kept so it is not rebuilt on every poll

  function fixed(n, digits) { return typeof n === 'number' && isFinite(n) ? n.toFixed(digits) : '—'; }

  function createCard(name) {
    var c = { name: name, rows: new Map(), prev: null, samples: [] };
    c.root = el('article', { className: 'card', 'data-tenant': name });
    c.routes = el('span', { className: 'routes' });
    c.script = el('span', { className: 'script' });
    c.rollout = el('span', { className: 'rollout' });
    c.root.appendChild(el('header', { className: 'card-head' },
      [el('h2', { className: 'tenant-name', textContent: name }), c.routes, c.script, c.rollout]));

    c.rate = el('span', { className: 'rate value' });
    c.errors = el('span', { className: 'errors value' });
    c.latency = el('span', { className: 'latency value' });
    c.chart = KS.createChart();
    c.peak = el('span', { className: 'chart-peak' });
    function stat(label, node) { return el('div', { className: 'stat' }, [el('span', { className: 'stat-label', textContent: label }), node]); }
    c.root.appendChild(el('div', { className: 'card-stats' }, [
      stat('Requests', c.rate), stat('5xx', c.errors), stat('Latency avg · p95', c.latency),
      el('div', { className: 'chart-box' }, [c.chart.root, c.peak])
    ]));

    c.tbody = el('tbody');
    // [header, tooltip]. Short headers keep the table inside a half-width card at 1280 px;
    // the tooltip says what a short one means.
    var head = [['State'], ['Backend'], ['Wt', 'Weight: share of the new requests'], ['Requests'], ['5xx'],
      ['Latency', 'Backend latency (request sent to response head): average · 95th percentile since the previous read'],
      ['Last check'], ['']];
    c.root.appendChild(el('div', { className: 'table-wrap' }, el('table', { className: 'backends' }, [
      el('thead', null, el('tr', null, head.map(function (h) {
        return el('th', h[1] ? { textContent: h[0], title: h[1] } : { textContent: h[0] });
      }))),
      c.tbody
    ])));
    c.msg = el('p', { className: 'msg', role: 'status', hidden: true });
    c.root.appendChild(c.msg);
    return c;
  }

  function showMessage(card, text) {
    if (!card) return;
    setText(card.msg, text);
    card.msg.hidden = !text;
  }

  function updateHeader(c, t) {
    var r = t.routes || {};
    var domains = Array.isArray(r.domains) && r.domains.length ? r.domains.join(', ') : 'any host';
    setText(c.routes, domains + (r.path_prefix ? '  ' + r.path_prefix : ''));
    setAttr(c.routes, 'title', 'Routes: ' + domains + ', path prefix ' + (r.path_prefix || '/') +
      (r.strip_prefix ? ' (stripped)' : '') + (r.preserve_host ? ', Host preserved' : '') +
      (t.health_interval_seconds ? '\nHealth checks every ' + t.health_interval_seconds + ' s' : ''));
    var s = t.script;
    var cat = s && s.catalog;
    setText(c.script, s ? (cat ? 'catalog ' + cat.name + '@' + cat.version : 'script ' + s.name) + ' (' + s.engine
      + (s.mode === 'shadow' ? ', shadow' : '') + ')' : 'no script');
    setAttr(c.script, 'data-catalog', cat ? cat.name + '@' + cat.version : null);
    var ro = t.rollout;
    setText(c.rollout, ro ? 'rollout ' + ro.canary + ' ' + String(ro.state).replace('_', ' ') + ' at ' + ro.percent + '%' : '');
    setAttr(c.rollout, 'data-state', ro ? String(ro.state) : null);
    c.script.classList.toggle('none', !s);
    setAttr(c.script, 'title', s ? 'Script ' + s.name + ', engine ' + s.engine + (s.on_error ? ', on error: ' + s.on_error : '')
      + (cat ? ', catalog entry ' + cat.name + '@' + cat.version + ' sha256 ' + cat.sha256.slice(0, 12) + (cat.signed ? ' (signed)' : '') : '') : null);
  }

  function updateStats(c, t, at) {
    var cur = KS.stats.snapshot(t, at);
    // A read with no time elapsed (same server timestamp) adds nothing: keep the older one.
    if (c.prev && !(cur.at > c.prev.at)) return;
    var r = KS.stats.rates(c.prev, cur);
    c.prev = cur;
    var inFlight = t.traffic && typeof t.traffic.in_flight === 'number' ? t.traffic.in_flight : 0;
    setAttr(c.rate, 'title', KS.count(cur.requests) + ' requests since start, ' + inFlight + ' in flight');
    if (!r) {
      // First read (or counters reset by a restart): rates need two reads.
      [c.rate, c.errors, c.latency].forEach(function (n) { setText(n, '…'); });
      setAttr(c.latency, 'title', 'Measuring: rates need two reads');
      return;
    }
    c.samples.push({ rate: r.rate, errorPct: r.errorPct });
    if (c.samples.length > KS.CHART_SAMPLES) c.samples.shift();

    setText(c.rate, fixed(r.rate, r.rate < 10 ? 2 : 1) + ' req/s');
    setText(c.errors, r.errorPct === null ? '—' : fixed(r.errorPct, 1) + ' %');
    setAttr(c.errors, 'data-level', r.errorPct >= 5 ? 'bad' : r.errorPct > 0 ? 'warn' : 'ok');
    var p = r.p95 ? (r.p95.above ? '> ' : '') + KS.seconds(r.p95.seconds) : '—';
    setText(c.latency, r.avgSeconds === null ? '—' : KS.seconds(r.avgSeconds) + ' · ' + p);
    setAttr(c.latency, 'title', 'Average and 95th percentile (estimated from histogram buckets) since the previous read');
    var peaks = c.chart.update(c.samples);
    setText(c.peak, 'peak ' + fixed(peaks.max, 1) + ' req/s');
  }

  // Drained (an operator's choice) shows first; then ejected (passive health, for a while);
  // then the active check's verdict.
  function backendState(b) {
    if (b.drained === true) return 'drained';
    if (b.ejected === true) return 'ejected';
    return b.healthy ? 'healthy' : 'unhealthy';
  }

  // Row layout (two short lines, to fit 6 tenants on a 1280 screen): state (+ "unhealthy"
  // under "drained" when both hold) | name + labels over the URL | weight | requests | 5xx |
  // latency avg · p95 | last check reason (up to two lines, full text and recent changes in
  // the tooltip) | button.
  // `prev` is the row's last read of the backend's counters: its latency history lives and
  // dies with the row, which is keyed by tenant (card) and backend name, i.e. "tenant/backend".
  function createRow(tenant, name) {
    var r = { busy: false, data: null, prev: null, prevUrl: null };
    r.tr = el('tr', { 'data-backend': tenant + '/' + name });
    r.label = el('span', { className: 'state-label' });
    r.sub = el('span', { className: 'state-sub', hidden: true }, 'unhealthy');
    r.labels = el('span', { className: 'b-labels' });
    r.url = el('div', { className: 'b-url' });
    r.weight = el('td', { className: 'b-weight num' });
    r.requests = el('td', { className: 'b-requests num' });
    r.errors = el('td', { className: 'b-errors num' });
    r.latency = el('td', { className: 'b-latency num' }, '…');
    r.reason = el('div', { className: 'b-reason' });
    r.check = el('td', { className: 'b-check' }, r.reason);
    r.button = el('button', { type: 'button', className: 'btn-small' });
    // The handler reads the action from the button when clicked, so it stays right however
    // many times the row is updated.
    r.button.addEventListener('click', function () { act(tenant, name, r); });
    [el('td', { className: 'b-state' }, [el('span', { className: 'dot', 'aria-hidden': 'true' }), r.label, r.sub]),
      el('td', { className: 'b-backend' }, [
        el('div', { className: 'b-line' }, [el('span', { className: 'b-name', textContent: name }), r.labels]), r.url]),
      r.weight, r.requests, r.errors, r.latency, r.check, el('td', { className: 'b-action' }, r.button)
    ].forEach(function (td) { r.tr.appendChild(td); });
    return r;
  }

  function transitionsText(b) {
    var list = Array.isArray(b.transitions) ? b.transitions.slice(-5).reverse() : [];
    if (!list.length) return '';
    return '\nRecent changes:\n' + list.map(function (x) {
      return KS.clock(x.at) + ' ' + (x.healthy ? 'up' : 'down') + (x.reason ? ': ' + x.reason : '');
    }).join('\n');
  }

  function updateRow(r, b) {
    r.data = b;
    var state = backendState(b);
    setAttr(r.tr, 'data-state', state);
    setText(r.label, state);
    r.sub.hidden = !(state === 'drained' && !b.healthy);
    setText(r.url, b.url || '');
    setAttr(r.url, 'title', b.url ? b.url + (b.health_path ? '\nHealth check: ' + b.health_path : '') : null);
    setText(r.weight, b.weight === undefined ? '' : String(b.weight));
    var labels = b.labels && typeof b.labels === 'object' ? Object.keys(b.labels).map(function (k) { return k + '=' + b.labels[k]; }) : [];
    setText(r.labels, labels.join(' '));
    setAttr(r.labels, 'title', labels.length ? 'Labels: ' + labels.join(', ') : null);
    setText(r.requests, KS.count(b.requests));
    setText(r.errors, KS.count(b.errors));
    r.errors.classList.toggle('bad', b.errors > 0);
    setText(r.reason, state === 'ejected' && b.ejected_until
      ? 'ejected after failed requests, until ' + KS.clock(b.ejected_until) : (b.last_reason || ''));
    setAttr(r.check, 'title', (b.last_check ? 'Last check ' + KS.clock(b.last_check) : 'Not checked yet') +
      (b.last_reason ? ': ' + b.last_reason : '') + transitionsText(b));
    if (!r.busy) setButton(r, b);
  }

  // The backend's latency over the last poll interval, from two reads of its upstream_duration
  // histogram, with the same maths as the tenant's (stats.js). Called only from render(),
  // which knows the server time of the read; updateRow() also runs after a drain click,
  // without a new read.
  function updateLatency(r, b, at) {
    var cur = KS.stats.backendSnapshot(b, at);
    // Same name, other URL (changed by a reload): other counters, so no delta against the old.
    if (r.prev && r.prevUrl !== b.url) r.prev = null;
    // A read with no time elapsed (same server timestamp) adds nothing: keep the older one.
    if (r.prev && !(cur.at > r.prev.at)) return;
    var x = KS.stats.rates(r.prev, cur);
    r.prev = cur;
    r.prevUrl = b.url;
    var text, title;
    if (!x) {
      text = '…';
      title = 'Measuring: latency needs two reads';
    } else if (!cur.duration) {
      text = '—';
      title = 'This gateway does not report backend latency';
    } else if (x.avgSeconds === null) {
      text = '—';
      title = 'No response from this backend since the previous read';
    } else {
      var above = !!(x.p95 && x.p95.above);
      text = KS.secondsPair(x.avgSeconds, x.p95 ? x.p95.seconds : null, above);
      title = 'Average ' + KS.seconds(x.avgSeconds) + ', 95th percentile ' +
        (x.p95 ? (above ? 'over ' : '') + KS.seconds(x.p95.seconds) + ' (estimated from histogram buckets)' : 'unknown') +
        '\nover ' + KS.count(x.count) + ' response' + (x.count === 1 ? '' : 's') +
        ' since the previous read; time from request sent to response head';
    }
    setText(r.latency, text);
    setAttr(r.latency, 'title', title);
  }

  function setButton(r, b) {
    var drained = b.drained === true;
    setAttr(r.button, 'data-action', drained ? 'undrain' : 'drain');
    setText(r.button, drained ? 'Undrain' : 'Drain');
    setAttr(r.button, 'title', drained
      ? 'Undrain ' + b.name + ': send it new requests again (when healthy)'
      : 'Drain ' + b.name + ': stop sending it new requests; running requests finish, health checks go on. ' +
        'Applies to every tenant using the same URL.');
  }

  async function act(tenant, name, r) {
    if (r.busy) return;
    var action = r.button.getAttribute('data-action') === 'undrain' ? 'undrain' : 'drain';
    var card = cards.get(tenant);
    r.busy = true;
    r.button.disabled = true;
    try {
      var res = await KS.api('POST', '/api/v1/backends/' + encodeURIComponent(name) + '/' + action +
        '?tenant=' + encodeURIComponent(tenant));
      if (res.status >= 200 && res.status < 300) {
        showMessage(card, '');
        // Show the new state at once; the immediate refresh below confirms it.
        if (r.data) r.data = Object.assign({}, r.data, { drained: action === 'drain' });
      } else {
        showMessage(card, action + ' ' + name + ' failed: ' + (res.body && res.body.error ? res.body.error : 'HTTP ' + res.status));
      }
    } catch (e) {
      if (e.kind === 'unauthorized') { r.busy = false; r.button.disabled = false; KS.app.unauthorized(); return; }
      showMessage(card, action + ' ' + name + ' failed: ' + e.message);
    }
    r.busy = false;
    r.button.disabled = false;
    if (r.data) updateRow(r, r.data);
    KS.app.refreshNow();
  }

  // Puts `wanted` (nodes, in order) into `parent`, moving nodes only when the order differs
  // (moving a node under the pointer would swallow a click).
  function arrange(parent, wanted) {
    var same = parent.childNodes.length === wanted.length &&
      wanted.every(function (n, i) { return parent.childNodes[i] === n; });
    if (same) return;
    Array.prototype.slice.call(parent.childNodes).forEach(function (n) {
      if (wanted.indexOf(n) < 0) parent.removeChild(n);
    });
    wanted.forEach(function (n, i) { if (parent.childNodes[i] !== n) parent.insertBefore(n, parent.childNodes[i] || null); });
  }

  // data: the /api/v1/tenants answer (one filtered page of it); emptyText: what to say when
  // it has no tenant.
  function render(container, data, emptyText) {
    var list = Array.isArray(data.tenants) ? data.tenants : [];
    var parsed = Date.parse(data.time);
    var at = (isNaN(parsed) ? Date.now() : parsed) / 1000;
    var seen = new Set();
    var nodes = list.filter(function (t) { return t && typeof t.name === 'string'; }).map(function (t) {
      seen.add(t.name);
      var c = cards.get(t.name);
      if (!c) { c = createCard(t.name); cards.set(t.name, c); }
      updateHeader(c, t);
      updateStats(c, t, at);
      var rows = (Array.isArray(t.backends) ? t.backends : []).map(function (b) {
        var r = c.rows.get(b.name);
        if (!r) { r = createRow(t.name, b.name); c.rows.set(b.name, r); }
        updateRow(r, b);
        updateLatency(r, b, at);
        return r;
      });
      // A backend gone from the tenant loses its row and, with it, its latency history.
      c.rows.forEach(function (r, key) { if (rows.indexOf(r) < 0) c.rows.delete(key); });
      arrange(c.tbody, rows.map(function (r) { return r.tr; }));
      return c.root;
    });
    // A tenant that left the view (filtered out, or gone from the config) loses its card and
    // its rate history, its rows' latency history with it: if it comes back, its first rate
    // must not be computed against a read from minutes ago. Its nodes leave the DOM in
    // arrange() below.
    cards.forEach(function (c, key) { if (!seen.has(key)) cards.delete(key); });
    if (!nodes.length) {
      emptyNode = emptyNode || el('p', { className: 'empty' });
      setText(emptyNode, emptyText || 'No tenants in the running config.');
      nodes = [emptyNode];
    }
    arrange(container, nodes);
  }

  KS.tenants = {
    render: render,
    reset: function (container) { cards.clear(); container.replaceChildren(); }
  };
})(window.Keystone = window.Keystone || {});
