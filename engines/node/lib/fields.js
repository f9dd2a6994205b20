'use strict';
// The fields of a decide request, checked with the messages of engine/EngineProtocol.java: a
// BadRequest names the field (the server answers 400 with it). Also the backends list, which the
// original /route format shares.

class BadRequest extends Error {}

function isObject(v) {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function required(o, key) {
  const v = o[key];
  if (typeof v !== 'string' || v === '') throw new BadRequest(`${key}: required, a non-empty string`);
  return v;
}

/** An optional string field: absent or null, else a string (EngineProtocol.optional). */
function optional(o, key) {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new BadRequest(`${key}: a string`);
  return v;
}

/** A field of the original /route format: numbers and booleans as their text (Vert.x's getString). */
function loose(o, key) {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  throw new BadRequest(`${key}: a string`);
}

function listOf(o, key) {
  const v = o[key];
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new BadRequest(`${key}: a list`);
  return v;
}

// What java.net.URI refuses, so that both engines refuse the same URLs: characters that may
// not appear anywhere, a bad %-escape, and for scheme://authority/... an empty authority, an
// unclosed IPv6 bracket or a port that is not a number.
const URL_ILLEGAL = /[\u0000-\u0020\u007f"<>\\^`{|}]|%(?![0-9A-Fa-f]{2})/;
const AUTHORITY = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/([^/?#]*)/;
const HOST_PORT = /^([^@]*@)?(\[[0-9A-Fa-f:.]+\]|[^[\]:]*)(:\d*)?$/;

function checkUrl(name, url) {
  const bad = URL_ILLEGAL.exec(url);
  if (bad) throw new BadRequest(`backends: ${name}: Illegal character at index ${bad.index}: ${url}`);
  const authority = AUTHORITY.exec(url);
  if (authority && (authority[1] === '' || !HOST_PORT.test(authority[1]))) {
    throw new BadRequest(`backends: ${name}: not a URL (host or port): ${url}`);
  }
}

const MAX_INT = 2 ** 31 - 1; // a Java int

/** The backends of a request: [{name, url, healthy, weight, labels}], in order, checked as Java does. */
function backends(raw) {
  return raw.map((b) => {
    if (!isObject(b)) throw new BadRequest('backends: each backend is an object');
    const rawLabels = b.labels ?? {};
    if (!isObject(rawLabels)) throw new BadRequest('backends: labels: an object of strings');
    const labels = {};
    for (const [k, v] of Object.entries(rawLabels)) {
      if (typeof v !== 'string') throw new BadRequest(`backends: labels.${k}: a string`);
      labels[k] = v;
    }
    const weight = 'weight' in b ? b.weight : 1; // a null weight is not a default
    if (!Number.isInteger(weight) || weight < 1 || weight > MAX_INT) {
      throw new BadRequest('backends: weight: a whole number of at least 1');
    }
    const name = required(b, 'name');
    const url = optional(b, 'url') ?? 'http://127.0.0.1:1';
    let healthy = b.healthy ?? null;
    if (healthy !== null && typeof healthy !== 'boolean') throw new BadRequest('backends: healthy: true or false');
    // The original format's "health" was a check path or a status: only false or "unhealthy" mean down.
    if (healthy === null) healthy = b.health !== false && b.health !== 'unhealthy';
    checkUrl(name, url);
    return { name, url, healthy, weight, labels };
  });
}

module.exports = { BadRequest, isObject, required, optional, loose, listOf, backends };
