'use strict';
// The engine under test as the checks use it: decide and respond requests, raw requests, and the
// common expectations on answers.

const expect = require('./expect');
const { decideBody, respondBody } = require('./fixtures');

class EngineUnderTest {
  constructor(client, options) {
    this.client = client;
    this.options = options; // the suite's command line (scriptsDir, pid, ...)
  }

  /** POST to `path` with a JSON body (or raw text); the response. */
  post(path, body, opts = {}) {
    const text = typeof body === 'string' || Buffer.isBuffer(body) || Array.isArray(body) ? body : JSON.stringify(body);
    return this.client.request('POST', path, { body: text, headers: { 'Content-Type': 'application/json' }, ...opts });
  }

  get(path) {
    return this.client.request('GET', path);
  }

  /** Runs `script` and returns the answer, which must be 200 JSON with "version": 1. */
  async decide(script, opts) {
    const answer = expect.status(await this.post('/v1/decide', decideBody(script, opts)), 200);
    expect.equal(answer.version, 1, 'answer.version');
    return answer;
  }

  /** POST /v1/respond for `script` (fixtures.respondBody); the answer, 200 JSON with "version": 1. */
  async respond(script, opts) {
    const answer = expect.status(await this.post('/v1/respond', respondBody(script, opts)), 200);
    expect.equal(answer.version, 1, 'answer.version');
    return answer;
  }

  /** A respond decision's body parsed as JSON (scripts report what they saw this way). */
  async decideJson(script, opts) {
    const a = await this.decide(script, opts);
    if (a.decision !== 'respond') expect.fail(`decision: expected "respond", got ${expect.show(a.decision)} ${a.error ? `(${a.error})` : ''}`);
    try {
      return JSON.parse(a.body);
    } catch (e) {
      return expect.fail(`the script's body is not JSON: ${expect.show(a.body)}`);
    }
  }
}

/**
 * An "error" decision: the message names the script's file (any extension) and, when `line` is
 * given, that line ("runtime-error.lua:6: ..."), or at least some line when line is true.
 */
function scriptError(answer, { file, line, limit }) {
  expect.equal(answer.decision, 'error', 'decision');
  expect.truthy(typeof answer.error === 'string', `"error" must be a string, got ${expect.show(answer.error)}`);
  const where = line === true ? '\\d+' : line === undefined ? null : String(line);
  const name = file.replace(/[.*+?^${}()|[\]\\-]/g, '\\$&');
  const re = where === null ? new RegExp(`${name}\\.\\w+\\b`) : new RegExp(`${name}\\.\\w+:${where}: `);
  expect.match(answer.error, re, 'error');
  if (limit !== undefined) expect.equal(answer.limit, limit, 'limit');
}

module.exports = { EngineUnderTest, scriptError };
