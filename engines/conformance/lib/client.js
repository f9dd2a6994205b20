'use strict';
// A small HTTP/1.1 client for the engine under test, over TCP (http://host:port) or a unix
// socket (unix:/path.sock). Built-in modules only.

const http = require('http');

/** Where the engine listens: {host, port} or {socketPath}. */
function parseTarget(engine) {
  if (engine.startsWith('unix:')) return { socketPath: engine.slice('unix:'.length) };
  const u = new URL(engine.includes('://') ? engine : `http://${engine}`);
  if (u.protocol !== 'http:') throw new Error(`--engine: http://host:port or unix:/path, got '${engine}'`);
  return { host: u.hostname.replace(/^\[|\]$/g, ''), port: Number(u.port || 80) };
}

class Client {
  constructor(engine, timeoutMs) {
    this.target = parseTarget(engine);
    this.timeoutMs = timeoutMs;
    // Keep-alive, unbounded sockets: the concurrency checks open hundreds of requests at once.
    this.agent = new http.Agent({ keepAlive: true, maxSockets: Infinity });
  }

  /**
   * Sends one request. `body` is a string or Buffer (sent with Content-Length), or an array of
   * Buffers (sent chunked, without Content-Length). Resolves {status, headers, text, json}; json is
   * undefined when the body is not JSON. A response that arrives before the whole body was sent
   * counts (an engine may answer 413 early); a connection error after it is ignored.
   */
  request(method, path, { body, headers = {}, timeoutMs = this.timeoutMs } = {}) {
    return new Promise((resolve, reject) => {
      let answered = false;
      const req = http.request({ ...this.target, agent: this.agent, method, path, headers }, (res) => {
        answered = true;
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          clearTimeout(timer);
          const text = Buffer.concat(chunks).toString('utf8');
          let json;
          try {
            json = JSON.parse(text);
          } catch (e) {
            json = undefined;
          }
          resolve({ status: res.statusCode, headers: res.headers, text, json });
        });
        res.on('error', reject);
      });
      const timer = setTimeout(() => {
        req.destroy();
        reject(new Error(`no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      req.on('error', (e) => {
        if (answered) return;
        clearTimeout(timer);
        reject(new Error(`${method} ${path}: ${e.message}`));
      });
      if (Array.isArray(body)) {
        for (const chunk of body) req.write(chunk);
        req.end();
      } else {
        if (body !== undefined) req.setHeader('Content-Length', Buffer.byteLength(body));
        req.end(body);
      }
    });
  }

  close() {
    this.agent.destroy();
  }
}

module.exports = { Client, parseTarget };
