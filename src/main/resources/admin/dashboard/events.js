// events.js: the "Recent events" list (health transitions, reloads, drains), newest first as
// the API sends them. Rebuilt only when the list changed; nothing in it is clickable, so a
// rebuild cannot swallow a click.
(function (KS) {
  'use strict';

  var el = KS.el;
  var lastSignature = null;

  function who(e) {
    var tenants = Array.isArray(e.tenants) && e.tenants.length ? ' (' + e.tenants.join(', ') + ')' : '';
    return (e.backend || '?') + tenants;
  }

  // Returns [tag text, tag level, main text, detail text or null].
  function describe(e) {
    switch (e.kind) {
      case 'health':
        return [e.healthy ? 'UP' : 'DOWN', e.healthy ? 'ok' : 'bad', who(e), e.reason || null];
      case 'reload':
        return ['RELOAD', e.applied ? 'ok' : 'bad',
          e.applied ? 'config version ' + e.config_version + ' applied'
                    : 'rejected, config version ' + e.config_version + ' stays',
          e.trigger ? 'trigger: ' + e.trigger : null];
      case 'drain':
        return [e.drained ? 'DRAIN' : 'UNDRAIN', e.drained ? 'warn' : 'ok',
          who(e) + (e.drained ? ' drained' : ' undrained'), null];
      case 'rollout':
        return ['ROLLOUT', e.action === 'rolled back' ? 'bad'
          : (e.action === 'paused' || e.action === 'waiting' || e.action === 'aborted') ? 'warn' : 'ok',
          (e.tenant || '?') + ': canary ' + (e.canary || '?') + ' ' + (e.action || '') + ' (' + e.percent + '%)',
          e.detail || null];
      case 'certificate':
        return [e.issued ? 'CERT' : 'CERT FAILED', e.issued ? 'ok' : 'bad',
          (Array.isArray(e.names) ? e.names.join(', ') : '?') + (e.issued ? ' issued' : ' not issued'), e.detail || null];
      default:
        return [String(e.kind || 'event').toUpperCase(), 'info', JSON.stringify(e), null];
    }
  }

  function item(e) {
    var d = describe(e);
    var when = new Date(e.at);
    var li = el('li', { 'data-kind': String(e.kind || 'unknown') }, [
      el('time', { className: 'ev-time', datetime: String(e.at || ''),
        title: isNaN(when.getTime()) ? '' : when.toString() }, KS.clock(when) || '--:--:--'),
      el('span', { className: 'ev-tag', 'data-level': d[1] }, d[0]),
      el('span', { className: 'ev-text' }, d[2]),
      d[3] ? el('span', { className: 'ev-detail' }, d[3]) : null
    ]);
    if (e.url) li.title = e.url;
    if (e.kind === 'reload' && Array.isArray(e.errors) && e.errors.length) {
      // Plain blocks, not a nested list: every <li> under #events is one event.
      li.appendChild(el('div', { className: 'ev-errors' }, e.errors.map(function (m) { return el('div', null, String(m)); })));
    }
    return li;
  }

  // data: the /api/v1/events answer.
  KS.renderEvents = function (ul, data) {
    var list = data && Array.isArray(data.events) ? data.events : [];
    var signature = JSON.stringify(list);
    if (signature === lastSignature) return;
    lastSignature = signature;
    var items = list.filter(function (e) { return e && typeof e === 'object'; }).map(item);
    // When empty, the "No events yet" note after the list shows through CSS (#events:empty).
    ul.replaceChildren.apply(ul, items);
  };
  KS.resetEvents = function () { lastSignature = null; };
})(window.Keystone = window.Keystone || {});
