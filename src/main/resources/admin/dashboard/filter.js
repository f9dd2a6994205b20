// filter.js: the tenant filter above the cards. With thousands of tenants the full
// /api/v1/tenants document is megabytes, so the dashboard never asks for it: it polls at most
// LIMIT tenants, narrowed server-side by `q`. The filter text lives in the input and in the
// page URL (?filter=...), so reloading or sharing the page keeps it.
(function (KS) {
  'use strict';

  var LIMIT = 60;          // cards on screen at most; enough to scan, small enough to poll
  var DEBOUNCE_MS = 300;   // wait for a pause in typing instead of polling on every key
  var PARAM = 'filter';

  var current = '';        // the filter in effect (trimmed); what the polls use
  var timer = null;
  var onChange = function () {};

  function clean(text) { return String(text || '').trim(); }

  // The query part of the polled URL. The answer's tenant list may then hold fewer tenants
  // than match; `matched` and `total` say how many there are.
  function path() {
    return '/api/v1/tenants?limit=' + LIMIT + (current ? '&q=' + encodeURIComponent(current) : '');
  }

  // replaceState, not pushState: each keystroke must not add a Back-button step. Other
  // parameters (interval, ...) and the fragment are kept as they are.
  function writeUrl() {
    var params = new URLSearchParams(location.search);
    if (current) params.set(PARAM, current); else params.delete(PARAM);
    var query = params.toString();
    history.replaceState(history.state, '', location.pathname + (query ? '?' + query : '') + location.hash);
  }

  function apply(text) {
    clearTimeout(timer);
    timer = null;
    var value = clean(text);
    if (value === current) return;
    current = value;
    writeUrl();
    onChange();
  }

  // input: pending until typing pauses. Enter, and the search field's clear button or Escape
  // (the non-standard "search" event, fired by Chromium and Safari), apply at once.
  function bind(input, changed) {
    onChange = changed || onChange;
    current = clean(new URLSearchParams(location.search).get(PARAM));
    input.value = current;
    input.addEventListener('input', function () {
      clearTimeout(timer);
      timer = setTimeout(function () { apply(input.value); }, DEBOUNCE_MS);
    });
    input.addEventListener('search', function () { apply(input.value); });
    input.addEventListener('keydown', function (e) { if (e.key === 'Enter') apply(input.value); });
  }

  function plural(n, word) { return KS.count(n) + ' ' + word + (n === 1 ? '' : 's'); }

  // The line under the filter. Hidden when every tenant is on screen and no filter is set;
  // data-* attributes carry the numbers for tests and scripts.
  function renderNote(node, data) {
    var shown = Array.isArray(data.tenants) ? data.tenants.length : 0;
    var total = typeof data.total === 'number' ? data.total : null;
    var matched = typeof data.matched === 'number' ? data.matched : total;
    var text = '';
    if (total === null) {
      text = '';   // a gateway without the counts: nothing reliable to say
    } else if (matched > shown) {
      text = 'Showing ' + KS.count(shown) + ' of ' + (current ? KS.count(matched) + ' matching tenants (' +
        KS.count(total) + ' in all) — narrow the filter' : plural(total, 'tenant') + ' — narrow with the filter');
    } else if (current) {
      text = KS.count(matched) + ' of ' + plural(total, 'tenant') + ' match' + (total === 1 ? 'es' : '');
    }
    KS.setText(node, text);
    node.hidden = !text;
    KS.setAttr(node, 'data-shown', String(shown));
    KS.setAttr(node, 'data-matched', matched === null ? null : String(matched));
    KS.setAttr(node, 'data-total', total === null ? null : String(total));
  }

  function emptyText() {
    return current ? 'No tenant matches “' + current + '”.' : 'No tenants in the running config.';
  }

  KS.filter = {
    LIMIT: LIMIT,
    bind: bind,
    path: path,
    value: function () { return current; },
    renderNote: renderNote,
    emptyText: emptyText
  };
})(window.Keystone = window.Keystone || {});
