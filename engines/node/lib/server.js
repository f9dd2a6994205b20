'use strict';
// The HTTP endpoints of docs/engine-protocol.md: POST /v1/decide, POST /v1/respond, the original
// POST /route/{tenant}, GET /health and POST /reload, with the statuses and messages of
// engine/EngineServer.java (400 {"error"} for a bad exchange, 404 for an unknown script or
// endpoint, 413 for a body over 1 MiB). Scripts run one call at a time, in the order of
// scheduler.js (the tenant that used the least script time lately goes first).

const http = require('http');
const protocol = require('./protocol');
const response = require('./response');
const { monotonic } = require('./budgets');
const { ScriptFailure, LoadError } = require('./scripts');

// A decide request's most: a 1 MiB script_body as JSON text (up to 6 MiB of escapes), headers,
// backends (attack round 3, N3-4: 1 MiB refused what the gateway sends).
const MAX_BODY = 8 * 1024 * 1024;
const MAX_DRAIN = 2 * MAX_BODY; // read and drop this much of a refused body, then hang up

function send(res, status, body) {
  if (res.headersSent) return;
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

/** Reads a body of at most 1 MiB and calls onBody(buffer); answers 413 itself when it is larger. */
function readBody(req, res, onBody) {
  const tooLarge = () => {
    send(res, 413, { error: `request body above ${MAX_BODY} bytes` });
    // Drop the rest so the client reads our answer rather than a reset connection.
    let drained = 0;
    req.removeAllListeners('data');
    req.on('data', (c) => {
      drained += c.length;
      if (drained > MAX_DRAIN) req.socket.destroy();
    });
    req.resume();
  };
  const declared = Number(req.headers['content-length']);
  if (declared > MAX_BODY) {
    tooLarge();
    return;
  }
  const chunks = [];
  let size = 0;
  req.on('data', (c) => {
    size += c.length;
    if (size > MAX_BODY) tooLarge();
    else chunks.push(c);
  });
  req.on('end', () => {
    if (size <= MAX_BODY) onBody(Buffer.concat(chunks));
  });
}

function parseJsonObject(buffer) {
  let body;
  try {
    body = JSON.parse(buffer.toString('utf8'));
  } catch (e) {
    throw new protocol.BadRequest(`the body is not a JSON object: ${e.message}`);
  }
  if (!protocol.isObject(body)) throw new protocol.BadRequest('the body is not a JSON object');
  return body;
}

/** The request handler of an engine serving `scripts` (a Scripts). */
function handler(scripts, log) {
  // Runs the script; [status, answer]. An unknown script is 404 before the request is checked.
  // `started`: when reading the request's JSON began; that work is the tenant's too (charged to its
  // time share: 16 clients of a tenant sending 700 KB requests slowed every other tenant, round 3, N3-7).
  async function decide(scriptName, makeRequest, compat, deadlineMs, bytes, started) {
    const script = scripts.script(scriptName);
    if (script === undefined) return [404, { error: `no script '${scriptName}' in ${scripts.library.dir}` }];
    const request = makeRequest();
    try {
      const d = await scripts.decide(script, request, deadlineMs, bytes, monotonic() - started);
      return [200, compat ? protocol.compatAnswer(d, request.backends) : protocol.answer(d)];
    } catch (e) {
      if (!(e instanceof ScriptFailure)) throw e;
      return [compat ? 500 : 200, protocol.errorAnswer(e)];
    }
  }

  // on_response for a response head. As in Java, the whole body is checked before the script is
  // looked up; a script without on_response answers the status unchanged.
  async function respond(body, bytes, started) {
    const name = protocol.scriptOf(body);
    protocol.tenantOf(body);
    const head = response.head(body);
    const request = protocol.decideRequest(body, false);
    const deadlineMs = protocol.deadlineOf(body);
    const script = scripts.script(name);
    if (script === undefined) return [404, { error: `no script '${name}' in ${scripts.library.dir}` }];
    try {
      const edits = await scripts.respond(script, request, head, deadlineMs, bytes, monotonic() - started);
      return [200, edits === null ? response.unchanged(head) : response.answer(edits)];
    } catch (e) {
      if (!(e instanceof ScriptFailure)) throw e;
      return [200, protocol.errorAnswer(e)];
    }
  }

  function withBody(req, res, answer) {
    // A tenant refused now (a strike, its time share used up) is answered without reading its
    // request as JSON, when the gateway names it: parsed first, every call of a flood of 1 MB
    // bodies cost the engine's only thread 5-10 ms, refused or not, and sixteen such clients left
    // the other tenants 59-60 % of their calls (attack round 9, N9-2). The body is read and dropped.
    // (A request of more than 256 KiB carries a client's body: the headers and backends the
    // gateway sends are less.)
    const named = req.headers['keystone-tenant'];
    const refused = typeof named === 'string' ? scripts.refusal(named, Number(req.headers['content-length']) > 256 * 1024) : null;
    if (refused !== null) {
      let drained = 0;
      req.on('data', (c) => {
        drained += c.length;
        if (drained > MAX_DRAIN) req.socket.destroy();
      });
      req.on('end', () => send(res, 200, protocol.errorAnswer(new ScriptFailure(`tenant ${named}: ${refused}`, true))));
      return;
    }
    readBody(req, res, async (buffer) => {
      try {
        const started = monotonic();
        const [status, body] = await answer(parseJsonObject(buffer), buffer.length, started);
        send(res, status, body);
      } catch (e) {
        if (e instanceof protocol.BadRequest) {
          send(res, 400, { error: e.message });
        } else {
          log(`WARNING engine failed on ${req.method} ${req.url}: ${e.stack}`);
          send(res, 500, { error: `engine failure: ${e.message}` });
        }
      }
    });
  }

  // Scripts are compiled in a worker thread meanwhile: other requests keep being answered.
  function reload(res) {
    scripts.reload().then((lib) => {
      log(`INFO engine scripts version ${lib.version}: ${lib.scripts.size} script(s)`);
      send(res, 200, { reloaded: true, scripts_version: lib.version, scripts: lib.scripts.size });
    }, (e) => {
      log(`WARNING engine reload rejected: ${e.message}`);
      send(res, 422, { reloaded: false, errors: e instanceof LoadError ? e.errors : [String(e)] });
    });
  }

  return (req, res) => {
    const q = req.url.indexOf('?');
    const path = q < 0 ? req.url : req.url.slice(0, q);
    const params = new URLSearchParams(q < 0 ? '' : req.url.slice(q + 1));
    if (path === '/health' && req.method === 'GET') {
      const lib = scripts.library;
      const answer = { status: 'healthy', scripts: lib.scripts.size, scripts_version: lib.version, protocol: protocol.VERSION };
      if (lib.failing.length > 0) answer.failing = lib.failing; // scripts that did not compile at start
      // ?scripts=1: the names it serves, so that a gateway can check its tenants' scripts are among them
      if (params.get('scripts') === '1') answer.names = [...lib.scripts.values()].filter((x) => x.error === undefined).map((x) => x.name);
      send(res, 200, answer);
    } else if (path === '/reload' && req.method === 'POST') {
      req.resume();
      reload(res);
    } else if (path === '/v1/decide' && req.method === 'POST') {
      withBody(req, res, (body, bytes, started) => {
        const name = protocol.scriptOf(body);
        protocol.tenantOf(body);
        const deadlineMs = protocol.deadlineOf(body);
        return decide(name, () => protocol.decideRequest(body), false, deadlineMs, bytes, started);
      });
    } else if (path === '/v1/respond' && req.method === 'POST') {
      withBody(req, res, respond);
    } else if (path.startsWith('/route/') && req.method === 'POST') {
      const tenant = path.slice('/route/'.length);
      const name = params.get('script') ?? tenant; // the original engine: a script per tenant
      withBody(req, res, (body, bytes, started) => decide(name, () => protocol.compatRequest(tenant, body), true, undefined, bytes, started));
    } else {
      req.resume();
      send(res, 404, { error: `no such endpoint: ${req.method} ${path}` });
    }
  };
}

function createServer(scripts, log) {
  const server = http.createServer({ noDelay: true }, handler(scripts, log));
  server.keepAliveTimeout = 30000;
  return server;
}

module.exports = { createServer, MAX_BODY };
