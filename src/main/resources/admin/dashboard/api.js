// api.js: admin token storage, the fetch wrapper every API call goes through, and small
// formatting helpers shared by the other scripts. Plain scripts (no modules, no build step)
// sharing one global namespace, window.Keystone.
(function (KS) {
  'use strict';

  var TOKEN_KEY = 'keystone-admin-token';
  // A hung gateway must not stall polling forever ("never overlap polls" means we wait for
  // each fetch), so every request gives up after this long and counts as unreachable.
  var TIMEOUT_MS = 8000;

  // sessionStorage: survives a reload of the tab, not closing it. Access can throw when
  // storage is disabled; then the token simply lives in memory for this page.
  var memoryToken = null;
  KS.token = {
    get: function () {
      try { return sessionStorage.getItem(TOKEN_KEY) || memoryToken; } catch (e) { return memoryToken; }
    },
    set: function (value) {
      memoryToken = value;
      try { sessionStorage.setItem(TOKEN_KEY, value); } catch (e) { /* memory only */ }
    },
    clear: function () {
      memoryToken = null;
      try { sessionStorage.removeItem(TOKEN_KEY); } catch (e) { /* nothing stored */ }
    },
    // Accepts "#token=..." once: stores it and removes it from the address bar, so the secret
    // does not linger in the history or get copied along with the URL.
    takeFromFragment: function () {
      if (!location.hash || location.hash.length < 2) return;
      var params = new URLSearchParams(location.hash.slice(1));
      var value = params.get('token');
      if (value === null) return;
      if (value !== '') KS.token.set(value);
      params.delete('token');
      var rest = params.toString();
      history.replaceState(null, '', location.pathname + location.search + (rest ? '#' + rest : ''));
    }
  };

  // kind: 'unauthorized' (401), 'unreachable' (network error, timeout or 5xx) or 'http'
  // (any other unexpected status). body is the parsed JSON answer when there was one.
  function ApiError(kind, status, body, message) {
    this.kind = kind;
    this.status = status;
    this.body = body;
    this.message = message;
  }

  // Sends one request with the bearer token. Resolves to {status, body} for 2xx and for
  // 4xx answers other than 401 (the reload endpoint answers 422 with a useful body); throws
  // ApiError otherwise.
  KS.api = async function (method, path) {
    var controller = new AbortController();
    var timer = setTimeout(function () { controller.abort(); }, TIMEOUT_MS);
    var res, text;
    try {
      res = await fetch(path, {
        method: method,
        headers: { 'Authorization': 'Bearer ' + (KS.token.get() || ''), 'Accept': 'application/json' },
        cache: 'no-store',
        credentials: 'same-origin',
        signal: controller.signal
      });
      text = await res.text();
    } catch (e) {
      var why = e && e.name === 'AbortError' ? 'no answer after ' + TIMEOUT_MS / 1000 + ' s' : String(e && e.message || e);
      throw new ApiError('unreachable', 0, null, why);
    } finally {
      clearTimeout(timer);
    }
    var body = null;
    try { body = text ? JSON.parse(text) : null; } catch (e) { body = null; }
    var detail = body && typeof body.error === 'string' ? body.error : 'HTTP ' + res.status;
    if (res.status === 401) throw new ApiError('unauthorized', 401, body, detail);
    if (res.status >= 500) throw new ApiError('unreachable', res.status, body, detail);
    return { status: res.status, body: body };
  };

  // GET that insists on a 2xx JSON object.
  KS.getJson = async function (path) {
    var r = await KS.api('GET', path);
    if (r.status < 200 || r.status > 299 || !r.body || typeof r.body !== 'object') {
      throw new ApiError('http', r.status, r.body, path + ': HTTP ' + r.status);
    }
    return r.body;
  };

  // ---- formatting ---------------------------------------------------------------------

  function pad(n) { return n < 10 ? '0' + n : String(n); }

  // Local wall-clock time, HH:MM:SS. Accepts a Date or an ISO string; '' when unparseable.
  KS.clock = function (when) {
    var d = when instanceof Date ? when : new Date(when);
    if (isNaN(d.getTime())) return '';
    return pad(d.getHours()) + ':' + pad(d.getMinutes()) + ':' + pad(d.getSeconds());
  };

  KS.uptime = function (seconds) {
    if (typeof seconds !== 'number' || !isFinite(seconds) || seconds < 0) return '—';
    var s = Math.floor(seconds), d = Math.floor(s / 86400), h = Math.floor(s % 86400 / 3600),
        m = Math.floor(s % 3600 / 60);
    if (d > 0) return d + 'd ' + h + 'h';
    if (h > 0) return h + 'h ' + pad(m) + 'm';
    return m + 'm ' + pad(s % 60) + 's';
  };

  // Integers with thousands separators; fixed locale so the page reads the same everywhere.
  KS.count = function (n) {
    return typeof n === 'number' && isFinite(n) ? n.toLocaleString('en-US') : '—';
  };

  // Seconds (floating point) to a short human duration.
  KS.seconds = function (s) {
    if (typeof s !== 'number' || !isFinite(s)) return '—';
    if (s < 0.001) return (s * 1000).toFixed(2) + ' ms';
    if (s < 1) return (s * 1000).toFixed(s < 0.01 ? 1 : 0) + ' ms';
    return s.toFixed(2) + ' s';
  };

  // Average and p95 as one short text for the narrow backends table, with one unit for both:
  // "2.1 · 4.8 ms", and "0.35 · 1.20 s" rather than "350 ms · 1.20 s" when only the p95 reaches
  // a second. `above`: the p95 lies past the last histogram bound ("3.20 · > 10.00 s").
  KS.secondsPair = function (avg, p95, above) {
    var a = KS.seconds(avg), p = KS.seconds(p95);
    var unitA = a.split(' ')[1], unitP = p.split(' ')[1];
    if (unitA === 'ms' && unitP === 's') a = avg.toFixed(avg < 0.1 ? 3 : 2) + ' s';
    if (unitA && unitP && a.split(' ')[1] === unitP) a = a.split(' ')[0];
    return a + ' · ' + (above && p !== '—' ? '> ' : '') + p;
  };

  // Small DOM builder: el('td', {className: 'x', title: 'y'}, 'text' | node | [..]).
  // Text always goes in through textContent / text nodes, never as HTML.
  KS.el = function (tag, props, children) {
    var node = document.createElement(tag);
    if (props) {
      Object.keys(props).forEach(function (k) {
        if (k === 'className' || k === 'textContent' || k === 'title' || k === 'type' || k === 'hidden') node[k] = props[k];
        else node.setAttribute(k, props[k]);
      });
    }
    [].concat(children === undefined ? [] : children).forEach(function (c) {
      if (c === null || c === undefined) return;
      node.appendChild(typeof c === 'string' ? document.createTextNode(c) : c);
    });
    return node;
  };

  // Sets textContent only when it changed, so unchanged nodes are left alone between polls.
  KS.setText = function (node, text) {
    if (node.textContent !== text) node.textContent = text;
  };
  KS.setAttr = function (node, name, value) {
    if (value === null || value === undefined) {
      if (node.hasAttribute(name)) node.removeAttribute(name);
    } else if (node.getAttribute(name) !== String(value)) {
      node.setAttribute(name, value);
    }
  };

  KS.ApiError = ApiError;
})(window.Keystone = window.Keystone || {});
