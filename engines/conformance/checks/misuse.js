'use strict';
// Wrong uses of the API are script errors (limit false) at the line of the call, never a
// decision: docs/scripting.md, "Decisions", "Request edits" and "Errors". Uses misuse.*.

const expect = require('../lib/expect');
const { scriptError } = require('../lib/engine');

/** One check per X-Case of misuse.*; `mentions`, when given, must appear in the error. */
function misuse(kind, title, mentions) {
  return {
    name: title,
    run: async (t) => {
      const a = await t.decide('misuse', { headers: { 'X-Case': kind } });
      scriptError(a, { file: 'misuse', line: true, limit: false });
      if (mentions) expect.match(a.error, mentions, 'error');
    },
  };
}

module.exports = {
  group: 'misuse',
  about: 'unknown backend or labels, statuses out of range, framing headers, CR/LF/NUL, bad names, paths and queries',
  checks: [
    misuse('unknown-backend', 'route_to an unknown backend name', /no-such-backend/),
    misuse('unknown-labels', 'route_to labels no backend has', /no-such-version/),
    misuse('respond-status-low', 'respond with status 99 (below 100)'),
    misuse('respond-status-high', 'respond with status 600 (above 599)'),
    misuse('reject-status', 'reject with status 399 (below 400)'),
    misuse('framing-header', 'set_header("Content-Length") (frames the message)'),
    misuse('framing-header-lower', 'remove_header("transfer-encoding"), any case'),
    misuse('connection-header', 'set_header("Connection") (belongs to the connection)'),
    misuse('crlf-value', 'a header value with CR LF'),
    misuse('nul-value', 'a header value with NUL'),
    misuse('bad-name', 'a header name with a space'),
    misuse('bad-path', "set_path without a leading '/'"),
    misuse('respond-crlf', 'respond() with a header value with CR LF'),
    misuse('respond-framing', 'respond() with a Content-Length header', /Content-Length/),
    misuse('path-space', 'set_path with a space'),
    misuse('path-query', "set_path with a '?' (the query is set_query's)"),
    misuse('query-hash', "set_query with a '#'"),
    // Round 3 of the attacks (issue 13): the same rules, and limits, in every engine.
    misuse('name-not-token', 'a header name that is not an RFC 9110 token ({)', /not a header name/),
    misuse('path-non-ascii', 'set_path with raw non-ASCII', /characters of a URI/),
    misuse('query-not-uri', "set_query with '<' and '>'", /characters of a URI/),
    misuse('path-too-long', 'set_path longer than 8 KiB', /longer than 8192/),
    misuse('value-too-long', 'a header value longer than 8 KiB', /longer than 8192/),
    // Attack on the Node.js engine (FINDINGS F3): header edits are bounded in the API, at the
    // script's line, in count and bytes as well as each name and value.
    misuse('name-too-long', 'a header name longer than 256 bytes', /longer than 256/),
    misuse('too-many-headers', 'set_header 101 times (at most 100 header edits)', /at most 100 headers/),
    misuse('header-bytes', 'nine header values of 8,000 bytes (at most 64 KiB of headers)', /64 KiB/),
    misuse('respond-too-many-headers', 'respond() with 101 headers', /at most 100 headers/),
    misuse('query-too-long', 'set_query longer than 8 KiB', /longer than 8192/),
    misuse('path-bad-percent', "set_path with a '%' not followed by two hex digits", /two hex digits/),
    misuse('query-bad-percent', "set_query with a '%' not followed by two hex digits", /two hex digits/),
    misuse('path-hash', "set_path with a '#'"),
  ],
};
