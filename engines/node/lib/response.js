'use strict';
// The response phase of the protocol, POST /v1/respond (docs/engine-protocol.md): the backend's
// response head as a script's on_response sees it, and the answer made of what it changed.
// Messages and rules of engine/ResponsePhase.java and script/ResponseEdits.java.

const { BadRequest, isObject } = require('./fields');
const { nameProblem, valueProblem, headersProblem } = require('./rules');

const VERSION = 1;

/** Statuses whose responses carry a body: one can stand in for another without breaking framing. */
function carriesBody(status) {
  return status >= 200 && status <= 599 && status !== 204 && status !== 304;
}

/**
 * `response` of a respond request: {status, backend, headers: [[name, value], ...]}. As in Java,
 * `backend` and `headers` may be left out, but not null.
 */
function head(body) {
  const r = body.response;
  if (!isObject(r)) throw new BadRequest('response: required, an object');
  const status = r.status;
  if (!Number.isInteger(status) || status < 100 || status > 599) {
    throw new BadRequest('response.status: required, a status between 100 and 599');
  }
  const backend = 'backend' in r ? r.backend : '';
  if (typeof backend !== 'string') throw new BadRequest('response.backend: a string');
  const list = 'headers' in r ? r.headers : [];
  if (!Array.isArray(list)) throw new BadRequest('response.headers: a list of [name, value]');
  const headers = list.map((h) => {
    if (!Array.isArray(h) || h.length !== 2 || typeof h[0] !== 'string' || typeof h[1] !== 'string') {
      throw new BadRequest('response.headers: each header is [name, value], two strings');
    }
    return [h[0], h[1]];
  });
  return { status, backend, headers };
}

/**
 * Whether edits from the context ({status, headers}) keep the rules, checked again in the engine's
 * own realm: a status change only between statuses that carry a body, header names and values
 * that cannot break the message (null removes).
 */
function wellFormed(e, original) {
  if (!isObject(e) || !Number.isInteger(e.status) || !isObject(e.headers)) return false;
  if (e.status !== original && (!carriesBody(original) || !carriesBody(e.status))) return false;
  let bytes = 0;
  let count = 0;
  for (const k in e.headers) {
    const v = e.headers[k];
    bytes += k.length + (typeof v === 'string' ? v.length : 0);
    if (headersProblem(++count, bytes) !== null) return false;
    if (nameProblem(k) !== null || (v !== null && valueProblem(v) !== null)) return false;
  }
  return true;
}

/** The answer for the edits of on_response (a null header value removes the header). */
function answer(e) {
  return { version: VERSION, status: e.status, headers: e.headers };
}

/** The answer for a script without on_response: the status as it was, no edits. */
function unchanged(h) {
  return { version: VERSION, status: h.status };
}

module.exports = { head, wellFormed, answer, unchanged, carriesBody };
