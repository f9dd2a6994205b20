'use strict';
// The protocol's JSON, version 1 (docs/engine-protocol.md): a decide request becomes the request
// a script sees, a decision becomes the answer; also the original engine's /route/{tenant}
// shapes. Anything malformed is a BadRequest whose message names the field, with the messages of
// engine/EngineProtocol.java.

const { decode } = require('./base64');
const { BadRequest, isObject, required, optional, loose, listOf, backends } = require('./fields');
const { nameProblem, valueProblem, pathProblem, queryProblem, headersProblem } = require('./rules');

const VERSION = 1;

/** The script's name from a decide or respond body (checked before anything else, as in Java). */
function scriptOf(body) {
  const s = body.script;
  if (typeof s !== 'string' || s === '') throw new BadRequest("script: required, the name of a script in the engine's directory");
  return s;
}

/** The tenant of a decide or respond body, checked next (EngineProtocol.tenant). */
function tenantOf(body) {
  return required(body, 'tenant');
}

/**
 * The gateway's deadline for the call (deadline_ms, optional): how long it waits for the answer.
 * The engine ends the call within it (or within its own --deadline-ms, if less), waiting included.
 */
function deadlineOf(body) {
  const d = body.deadline_ms;
  if (d === undefined || d === null) return undefined;
  if (!Number.isInteger(d) || d < 1 || d > 3600000) throw new BadRequest('deadline_ms: a whole number of milliseconds, 1 to 3600000');
  return d;
}

/**
 * The body a script sees, from request.body (text) or request.body_base64 (bytes; body wins, as
 * in EngineProtocol.body): {body, body_binary}, or {} without a body. `body` is the text (a lone
 * surrogate as '?', as Java encodes it) or, for base64, a "binary string" (one char per byte);
 * `body_binary`, the raw bytes as a binary string where they differ from `body` (a non-ASCII
 * text), is what sandbox/api.js makes req.body_bytes of.
 */
function bodyOf(text, base64) {
  if (text !== undefined) {
    const body = text.isWellFormed() ? text : text.replace(/[\ud800-\udfff]/gu, '?');
    const binary = Buffer.from(body, 'utf8').toString('latin1');
    return binary === body ? { body } : { body, body_binary: binary };
  }
  if (base64 === undefined) return {};
  try {
    return { body: decode(base64).toString('latin1') };
  } catch (e) {
    throw new BadRequest(`request.body_base64: not base64: ${e.message}`);
  }
}

// The tenant's parameters for the script (docs/engine-protocol.md, "Script parameters").
const MAX_PARAMS_DEPTH = 16; // the params object itself is level 1
const MAX_PARAMS_BYTES = 64 * 1024; // as compact JSON, in UTF-8

/**
 * Walks a params value: a BadRequest for a level deeper than MAX_PARAMS_DEPTH or a number that is
 * not finite (JSON.parse makes 1e400 Infinity). Adds to `seen.bytes` a lower bound of the value's
 * compact JSON size (a string's UTF-16 length is at most its UTF-8 length) and stops as soon as
 * that passes the limit: a params of megabytes costs no more to refuse than 64 KiB.
 */
function walkParams(v, depth, seen) {
  if (typeof v === 'string') {
    seen.bytes += v.length + 2;
  } else if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new BadRequest('params: a number out of range');
    seen.bytes += 1;
  } else if (v === null || typeof v !== 'object') {
    seen.bytes += 4;
  } else {
    if (depth > MAX_PARAMS_DEPTH) throw new BadRequest(`params: nested deeper than ${MAX_PARAMS_DEPTH} levels`);
    seen.bytes += 2;
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length && seen.bytes <= MAX_PARAMS_BYTES; i++) walkParams(v[i], depth + 1, seen);
    } else {
      const keys = Object.keys(v);
      for (let i = 0; i < keys.length && seen.bytes <= MAX_PARAMS_BYTES; i++) {
        seen.bytes += keys[i].length + 3;
        walkParams(v[keys[i]], depth + 1, seen);
      }
    }
  }
  if (seen.bytes > MAX_PARAMS_BYTES) throw new BadRequest(`params: larger than ${MAX_PARAMS_BYTES} bytes`);
}

/**
 * The params of a decide or respond body: {} without them (nothing is copied: the script gets an
 * empty object), else {params_json}, their compact JSON text, which sandbox/api.js parses and
 * deep-freezes inside the context for each call. An object, at most 16 levels deep, finite
 * numbers, at most 64 KiB of JSON; `null` is not taken as absent.
 */
function paramsOf(body) {
  const p = body.params;
  if (p === undefined) return {};
  if (!isObject(p)) throw new BadRequest('params: a JSON object expected');
  walkParams(p, 1, { bytes: 0 });
  const text = JSON.stringify(p);
  if (text.length > MAX_PARAMS_BYTES || Buffer.byteLength(text, 'utf8') > MAX_PARAMS_BYTES) {
    throw new BadRequest(`params: larger than ${MAX_PARAMS_BYTES} bytes`);
  }
  return { params_json: text };
}

/**
 * The request of POST /v1/decide, as the script's req is built from it (in EngineProtocol's
 * order, params last); for POST /v1/respond (withBackends false), the same without backends.
 */
function decideRequest(body, withBackends = true) {
  const list = withBackends ? backends(listOf(body, 'backends')) : [];
  const r = body.request;
  if (!isObject(r)) throw new BadRequest('request: required, an object');
  const headers = listOf(r, 'headers').map((h) => {
    if (!Array.isArray(h) || h.length !== 2 || typeof h[0] !== 'string' || typeof h[1] !== 'string') {
      throw new BadRequest('request.headers: each header is [name, value], two strings');
    }
    return [h[0], h[1]];
  });
  const path = required(r, 'path');
  const method = required(r, 'method');
  return {
    method,
    path,
    raw_path: optional(r, 'raw_path') ?? path,
    query: optional(r, 'query') ?? null,
    host: optional(r, 'host'),
    client_ip: optional(r, 'client_ip'),
    tenant: required(body, 'tenant'),
    request_id: optional(r, 'request_id') ?? '-',
    headers,
    backends: list,
    ...bodyOf(optional(r, 'body'), optional(r, 'body_base64')),
    ...paramsOf(body),
  };
}

/** The original engine's request (POST /route/{tenant}, which has no params): {method, path, host, headers, body, backends}. */
function compatRequest(tenant, body) {
  const raw = body.headers ?? {};
  if (!isObject(raw)) throw new BadRequest('headers: an object of name to value');
  const headers = Object.entries(raw).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]);
  const path = loose(body, 'path') ?? '/';
  return {
    method: loose(body, 'method') ?? 'GET',
    path,
    raw_path: path,
    query: null,
    host: loose(body, 'host'),
    client_ip: undefined,
    tenant,
    request_id: '-',
    headers,
    backends: backends(listOf(body, 'backends')),
    ...bodyOf(loose(body, 'body'), undefined),
  };
}

// The longest body or reason a decision may carry: the 1 MiB every string of a Lua script is
// held to (docs/scripting.md, "string size"); the API refuses longer ones too (sandbox/api.js).
const MAX_TEXT = 1 << 20;

/**
 * Why a decision is too big (set by a script that replaced its built-ins, or that called past
 * the API's own checks), or null: checked before anything else reads it, each loop stopping at
 * the first item past a limit.
 */
function sizeProblem(d) {
  for (const h of [d.headerEdits, d.kind === 'respond' ? d.headers : null]) {
    if (!isObject(h)) continue;
    let count = 0;
    let bytes = 0;
    for (const k in h) {
      count++;
      bytes += k.length + (typeof h[k] === 'string' ? h[k].length : 0);
      const problem = headersProblem(count, bytes);
      if (problem !== null) return problem;
    }
  }
  for (const field of ['body', 'reason']) {
    const v = d[field];
    if (typeof v === 'string' && v.length > MAX_TEXT) return `the ${field} is ${v.length} characters, above the limit of ${MAX_TEXT}`;
  }
  return null;
}

/**
 * Why a route names a backend, or a target, the request did not offer, or null (the engine's
 * re-check: route_to only names offered backends). The target is a backend's name or, for a
 * route by labels, "{k=v, ...}", which can be no longer than the labels of a backend it chose.
 */
function foreignBackend(d, offered) {
  if (d.kind !== 'route' || !Array.isArray(d.backends)) return null;
  const byName = new Map(offered.map((b) => [b.name, b]));
  for (const b of d.backends) {
    if (!byName.has(b)) return `the request has no backend named '${String(b).slice(0, 100)}'`;
  }
  if (d.backends.length > offered.length) return `the route names ${d.backends.length} backends, the request offered ${offered.length}`;
  const t = d.target;
  if (typeof t !== 'string' || d.backends.includes(t)) return null;
  const labels = Object.entries(byName.get(d.backends[0]).labels || {});
  const longest = 2 + labels.reduce((n, [k, v]) => n + k.length + v.length + 3, 0);
  if (t.startsWith('{') && t.endsWith('}') && t.length <= longest) return null;
  return `the request has no backend named '${t.slice(0, 100)}'`;
}

/**
 * Whether a decision from the context has the shape sandbox/api.js gives it and keeps the edit
 * rules (a script that changes its realm's built-ins, say Object.prototype.toJSON or
 * String.prototype.startsWith, could garble it or slip past the API's checks).
 */
function wellFormed(d) {
  const str = (v) => typeof v === 'string';
  const headersOk = (h, removals) => isObject(h) && Object.entries(h)
    .every(([k, v]) => nameProblem(k) === null && ((removals && v === null) || valueProblem(v) === null));
  if (!isObject(d) || !headersOk(d.headerEdits, true)) return false;
  if ((d.path !== undefined && pathProblem(d.path) !== null) || (d.query !== undefined && queryProblem(d.query) !== null)) return false;
  const status = (min) => Number.isInteger(d.status) && d.status >= min && d.status <= 599;
  switch (d.kind) {
    case 'continue': return true;
    case 'route': return str(d.target) && Array.isArray(d.backends) && d.backends.length > 0 && d.backends.every(str);
    case 'respond': return status(200) && str(d.body) && headersOk(d.headers, false);
    case 'reject': return status(400) && str(d.reason);
    default: return false;
  }
}

/** The answer of POST /v1/decide for a decision made by sandbox/api.js. */
function answer(d) {
  const out = { version: VERSION, decision: d.kind };
  if (d.kind === 'route') Object.assign(out, { target: d.target, backends: d.backends });
  if (d.kind === 'respond') Object.assign(out, { status: d.status, body: d.body, headers: d.headers });
  if (d.kind === 'reject') Object.assign(out, { status: d.status, reason: d.reason });
  const edits = {};
  if (Object.keys(d.headerEdits).length > 0) edits.headers = d.headerEdits; // null removes
  if (typeof d.path === 'string') edits.path = d.path;
  if (typeof d.query === 'string') edits.query = d.query;
  if (Object.keys(edits).length > 0) out.edits = edits;
  if (d.onResponse === true) out.on_response = true; // the gateway will call POST /v1/respond
  return out;
}

/** The original engine's answer: {selected_backend, modified_headers, modified_path, reject, reject_reason}. */
function compatAnswer(d, list) {
  const out = {};
  if (d.kind === 'route') {
    const candidates = list.filter((b) => d.backends.includes(b.name));
    out.selected_backend = (candidates.find((b) => b.healthy) || candidates[0] || { name: d.backends[0] }).name;
  }
  if (d.kind === 'reject' || d.kind === 'respond') {
    Object.assign(out, { reject: true, reject_reason: d.kind === 'reject' ? d.reason : d.body });
  }
  const set = Object.entries(d.headerEdits).filter(([, v]) => v !== null); // removals cannot be expressed
  if (Object.keys(d.headerEdits).length > 0) out.modified_headers = Object.fromEntries(set);
  if (typeof d.path === 'string') out.modified_path = d.path;
  return out;
}

/** The error answer for a failed script. */
function errorAnswer(failure) {
  return { version: VERSION, decision: 'error', error: cut(failure.message), limit: failure.limit };
}

// The longest error text an answer carries: a script's own message can be megabytes (attack on
// the Node engine, round 2, N2-6), which the gateway would parse only to cut it for its log.
const MAX_ERROR = 4096;

function cut(text) {
  if (text.length <= MAX_ERROR) return text;
  let end = MAX_ERROR;
  if (/[\ud800-\udbff]/.test(text[end - 1])) end--; // never half a surrogate pair
  return `${text.slice(0, end)}... (${text.length} characters in all)`;
}

module.exports = { VERSION, BadRequest, isObject, scriptOf, tenantOf, deadlineOf, decideRequest, paramsOf, MAX_PARAMS_BYTES, MAX_PARAMS_DEPTH, compatRequest, wellFormed, sizeProblem, foreignBackend, answer, compatAnswer, errorAnswer, MAX_ERROR };
