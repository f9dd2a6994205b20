'use strict';
// What the checks send: one tenant's backends, and decide and respond requests built around them.

// Two backends labelled version=stable (one of them unhealthy: a route by labels must still list
// it, the gateway picks among the healthy ones) and two canaries in different zones.
const BACKENDS = [
  { name: 'stable', url: 'http://10.0.0.5:8080', healthy: true, weight: 3, labels: { version: 'stable', zone: 'a' } },
  { name: 'stable-b', url: 'http://10.0.0.6:8080', healthy: false, weight: 1, labels: { version: 'stable', zone: 'b' } },
  { name: 'canary-42', url: 'http://10.0.0.9:8080', healthy: true, weight: 1, labels: { version: 'canary', zone: 'b' } },
  { name: 'canary-43', url: 'https://10.0.0.10:8443/base', healthy: true, weight: 2, labels: { version: 'canary', zone: 'a' } },
];

/** A unique prefix per run: key/value stores live as long as the engine, across suite runs. */
const RUN = `conf-${Date.now().toString(36)}-${Math.floor(Math.random() * 1e6).toString(36)}`;

function tenant(name = 'main') {
  return `${RUN}-${name}`;
}

/**
 * The body of POST /v1/decide for `script`. `headers` is a list of [name, value] pairs or an
 * object; `request` overrides fields of the request; `extra` fields of the body.
 */
function decideBody(script, { headers = [], request = {}, tenant: t = tenant(), backends = BACKENDS, extra = {} } = {}) {
  const pairs = Array.isArray(headers) ? headers : Object.entries(headers);
  return {
    version: 1,
    tenant: t,
    script,
    request: { method: 'GET', path: '/orders', headers: pairs, ...request },
    backends,
    ...extra,
  };
}

/**
 * The body of POST /v1/respond for `script`: the request (as decideBody, without backends) and
 * the backend's response head. `response` overrides fields of the head; `headers` are the
 * response's headers (pairs or an object), `requestHeaders` the request's.
 */
function respondBody(script, { status = 200, backend = 'canary-42', headers = [], response = {}, requestHeaders = [], request = {}, tenant: t = tenant(), extra = {} } = {}) {
  const body = decideBody(script, { headers: requestHeaders, request, tenant: t, extra });
  delete body.backends;
  const pairs = Array.isArray(headers) ? headers : Object.entries(headers);
  return { ...body, response: { status, backend, headers: pairs, ...response } };
}

module.exports = { BACKENDS, RUN, tenant, decideBody, respondBody };
