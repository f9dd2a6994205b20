'use strict';
// Assertions that fail with one short line, for the "not ok N - name: why" output.

class CheckFailure extends Error {}

function show(v) {
  const s = v === undefined ? 'undefined' : JSON.stringify(canonical(v));
  return s.length > 300 ? `${s.slice(0, 300)}...` : s;
}

/** The value with object keys sorted, so that equal JSON compares equal whatever the key order. */
function canonical(v) {
  if (Array.isArray(v)) return v.map(canonical);
  if (v !== null && typeof v === 'object') {
    const out = {};
    for (const k of Object.keys(v).sort()) out[k] = canonical(v[k]);
    return out;
  }
  return v;
}

function fail(message) {
  throw new CheckFailure(message);
}

function equal(actual, expected, what) {
  if (actual !== expected) fail(`${what}: expected ${show(expected)}, got ${show(actual)}`);
}

function deepEqual(actual, expected, what) {
  if (JSON.stringify(canonical(actual)) !== JSON.stringify(canonical(expected))) {
    fail(`${what}: expected ${show(expected)}, got ${show(actual)}`);
  }
}

function match(actual, re, what) {
  if (typeof actual !== 'string' || !re.test(actual)) fail(`${what}: expected text matching ${re}, got ${show(actual)}`);
}

function truthy(cond, what) {
  if (!cond) fail(what);
}

/** The HTTP status, and a JSON body (the protocol answers JSON everywhere). */
function status(res, expected, what = 'HTTP status') {
  if (res.status !== expected) fail(`${what}: expected ${expected}, got ${res.status} ${res.text.slice(0, 200)}`);
  if (!/application\/json/.test(res.headers['content-type'] || '')) {
    fail(`Content-Type: expected application/json, got ${show(res.headers['content-type'])}`);
  }
  if (res.json === undefined) fail(`the body is not JSON: ${show(res.text)}`);
  return res.json;
}

/** A {"error": "..."} answer with the given status. */
function errorAnswer(res, expected, mentions) {
  const body = status(res, expected);
  truthy(typeof body.error === 'string' && body.error !== '', `expected {"error": "..."}, got ${show(body)}`);
  if (mentions) match(body.error, mentions, 'error');
  return body;
}

module.exports = { CheckFailure, fail, equal, deepEqual, match, truthy, status, errorAnswer, show };
