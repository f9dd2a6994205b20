// app.js: start-up, the token form, the polling loop, the connection indicator and banner,
// the header summary and the Reload button. Tenant cards live in tenants.js, the tenant filter
// in filter.js, the event list in events.js, the API wrapper and helpers in api.js.
(function (KS) {
  'use strict';

  var $ = function (id) { return document.getElementById(id); };
  var setText = KS.setText, setAttr = KS.setAttr;

  // ?interval=MS overrides the 2 s poll period (never below 250 ms).
  var asked = parseInt(new URLSearchParams(location.search).get('interval'), 10);
  var INTERVAL = isFinite(asked) ? Math.max(250, asked) : 2000;

  // The loop never overlaps: the next poll is scheduled only when the current one is done.
  // A refresh asked for during a poll (after a drain, a reload) runs right after it.
  // `generation` changes whenever the loop is stopped or restarted, so the answer of a poll
  // started with an old token is ignored.
  var loop = { running: false, inFlight: false, again: false, timer: null, generation: 0 };
  var downSince = null;   // first failed poll of the current outage

  function schedule(delay) {
    clearTimeout(loop.timer);
    loop.timer = setTimeout(poll, delay);
  }

  function start() {
    loop.generation++;
    loop.running = true;
    if (loop.inFlight) loop.again = true; else schedule(0);
  }

  function stop() {
    loop.generation++;
    loop.running = false;
    clearTimeout(loop.timer);
    loop.timer = null;
  }

  function refreshNow() {
    if (!loop.running) return;
    if (loop.inFlight) loop.again = true; else schedule(0);
  }

  async function poll() {
    loop.timer = null;
    if (!loop.running) return;
    if (loop.inFlight) { loop.again = true; return; }
    loop.inFlight = true;
    loop.again = false;
    var generation = loop.generation;
    // Never the whole tenant list (10 MB with 10,000 tenants): a page of it, filtered.
    var tenantsPath = KS.filter.path();
    try {
      var answers = await Promise.all([
        KS.getJson('/api/v1/status'), KS.getJson(tenantsPath), KS.getJson('/api/v1/events')
      ]);
      if (generation === loop.generation) onData(answers[0], answers[1], answers[2], tenantsPath);
    } catch (e) {
      if (generation === loop.generation) {
        if (e && e.kind === 'unauthorized') unauthorized();
        else onFailure(e);
      }
    } finally {
      loop.inFlight = false;
      if (loop.running) schedule(loop.again ? 0 : INTERVAL);
    }
  }

  function setConnection(state, text) {
    var node = $('connection');
    setAttr(node, 'data-state', state);   // null removes it: "connecting", not yet known
    setText($('connection-text'), text);
  }

  function onData(status, tenants, events, tenantsPath) {
    downSince = null;
    setConnection('ok', 'Connected');
    $('banner').hidden = true;
    $('dashboard').classList.remove('stale');
    // A surprise in the data must not count as "gateway unreachable": report it and go on.
    try {
      renderStatus(status);
      // The filter changed while this poll ran: its tenant list belongs to the old filter and
      // would flash the old cards back (and drop and rebuild their history). The refresh the
      // change asked for runs right after this poll and brings the right list.
      if (tenantsPath === KS.filter.path()) {
        KS.filter.renderNote($('tenant-count-note'), tenants);
        KS.tenants.render($('tenants'), tenants, KS.filter.emptyText());
      }
      KS.renderEvents($('events'), events);
    } catch (e) {
      console.error('dashboard: cannot render', e);
    }
    setText($('last-update'), 'updated ' + KS.clock(new Date()));
  }

  function onFailure(e) {
    if (!downSince) downSince = new Date();
    setConnection('unreachable', 'Unreachable');
    var banner = $('banner');
    setText(banner, 'Gateway unreachable since ' + KS.clock(downSince) + ' — retrying every ' +
      Number((INTERVAL / 1000).toFixed(2)) + 's');
    setAttr(banner, 'title', e && e.message ? 'Last error: ' + e.message : null);
    banner.hidden = false;
    // Keep the last data on screen, greyed out, so the operator still sees what it was.
    $('dashboard').classList.add('stale');
  }

  // ---- token ----------------------------------------------------------------------------

  function showLogin(message) {
    stop();
    KS.token.clear();
    downSince = null;
    $('banner').hidden = true;
    $('dashboard').hidden = true;
    $('reload').disabled = true;
    setText($('last-update'), '');
    $('login').hidden = false;
    setConnection('unauthorized', message ? 'Token refused' : 'Token needed');
    setText($('token-message'), message || '');
    $('token-message').hidden = !message;
    $('token-input').value = '';
    $('token-input').focus();
  }

  function unauthorized() { showLogin('The token was refused'); }

  function showDashboard() {
    $('login').hidden = true;
    $('dashboard').hidden = false;
    $('dashboard').classList.remove('stale');
    $('reload').disabled = false;
    setConnection(null, 'Connecting…');
    start();
  }

  function onTokenSubmit(event) {
    event.preventDefault();
    var value = $('token-input').value.trim();
    if (!value) {
      setText($('token-message'), 'Enter the admin token');
      $('token-message').hidden = false;
      return;
    }
    KS.token.set(value);
    $('token-input').value = '';
    // Another token may mean another gateway: start the rates and lists afresh.
    KS.tenants.reset($('tenants'));
    KS.resetEvents();
    showDashboard();
  }

  // ---- header -----------------------------------------------------------------------------

  function renderStatus(s) {
    var config = s.config || {};
    var backends = s.backends || {};
    var requests = s.requests || {};
    setText($('gw-version'), s.version ? 'v' + s.version : '');
    setText($('config-version'), config.version === undefined ? '—' : String(config.version));
    setText($('config-source'), config.source || '');
    setAttr($('config-source'), 'title', config.loaded_at ? 'Loaded at ' + KS.clock(config.loaded_at) : null);
    setText($('uptime'), KS.uptime(s.uptime_seconds));
    setAttr($('uptime'), 'title', s.started_at ? 'Started ' + new Date(s.started_at).toString() : null);
    setText($('tenant-count'), KS.count(s.tenants));
    setText($('backends-healthy'), KS.count(backends.healthy));
    setText($('backends-total'), KS.count(backends.total));
    setText($('backends-drained'), KS.count(backends.drained));
    $('backends-summary').classList.toggle('warn', backends.healthy < backends.total);
    setText($('requests-total'), KS.count(requests.total));
    setText($('in-flight'), KS.count(requests.in_flight));
    setText($('listen'), (s.listen || '') + (s.transport ? ' (' + s.transport + ')' : ''));
    var engine = s.engine;
    $('engine-box').hidden = !engine;
    if (engine) {
      setText($('engine'), 'pid ' + engine.pid + ', ' + engine.restarts + ' restart' + (engine.restarts === 1 ? '' : 's'));
      setAttr($('engine'), 'title', engine.url || null);
    }
    // Cluster mode: an unreachable store leaves the gateway serving its last config; say so.
    var store = s.config_store;
    $('cluster-box').hidden = !store;
    if (store) {
      var down = store.status !== 'connected';
      setText($('cluster'), 'revision ' + store.revision + (down ? ', unreachable: serving the last config' : ', connected')
          + (store.from_cache ? ' (from the cache)' : '') + (store.refused_revision ? '; revision ' + store.refused_revision + ' refused' : ''));
      $('cluster').classList.toggle('warn', down || !!store.refused_revision);
      setAttr($('cluster'), 'title', store.store + (store.problem ? ': ' + store.problem : '') + (store.refusal ? '\n' + store.refusal : ''));
    }
    var state = s.state_store;
    $('state-box').hidden = !state;
    if (state) {
      var stateDown = state.status !== 'connected';
      setText($('state'), stateDown ? 'unreachable: rate limits on their fallback' : 'connected');
      $('state').classList.toggle('warn', stateDown);
      setAttr($('state'), 'title', state.url + (state.problem ? ': ' + state.problem : ''));
    }
  }

  // ---- reload -------------------------------------------------------------------------------

  function showReload(applied, summary, errors) {
    var out = $('reload-result');
    out.setAttribute('data-applied', applied ? 'true' : 'false');
    out.title = 'Reload at ' + KS.clock(new Date());
    var children = [KS.el('p', { className: 'reload-summary' }, summary)];
    if (errors.length) {
      children.push(KS.el('ul', { className: 'reload-errors' }, errors.map(function (m) { return KS.el('li', null, String(m)); })));
    }
    out.replaceChildren.apply(out, children);
    out.hidden = false;
  }

  async function onReload() {
    var button = $('reload');
    button.disabled = true;
    setText(button, 'Reloading…');
    try {
      var r = await KS.api('POST', '/api/v1/reload');
      var b = r.body || {};
      var errors = Array.isArray(b.errors) ? b.errors : [];
      if (r.status >= 200 && r.status < 300 && b.applied !== false) {
        showReload(true, 'Config version ' + b.config_version + ' applied', []);
      } else {
        showReload(false, 'Reload rejected' + (b.config_version === undefined ? '' : ', config version ' + b.config_version + ' stays'),
          errors.length ? errors : [b.error || 'HTTP ' + r.status]);
      }
    } catch (e) {
      if (e.kind === 'unauthorized') { setText(button, 'Reload config'); unauthorized(); return; }
      var errs = e.body && Array.isArray(e.body.errors) && e.body.errors.length ? e.body.errors : [e.message];
      showReload(false, 'Reload failed', errs);
    }
    button.disabled = false;
    setText(button, 'Reload config');
    refreshNow();
  }

  // ---- start ----------------------------------------------------------------------------------

  KS.app = { refreshNow: refreshNow, unauthorized: unauthorized };

  function boot() {
    $('token-form').addEventListener('submit', onTokenSubmit);
    $('reload').addEventListener('click', onReload);
    KS.filter.bind($('tenant-filter'), refreshNow);
    KS.token.takeFromFragment();
    if (KS.token.get()) showDashboard(); else showLogin(null);
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', boot); else boot();
})(window.Keystone = window.Keystone || {});
