// What a script may put into a request or a response: header names and values, a path, a query,
// as src/main/java/dev/keystone/script/EditRules.java (same rules, same messages). Evaluates to a
// function returning the checks; each returns null when the value is fine, else the problem.
// Runs inside each script's QuickJS context (for the API) AND in the engine's own realm
// (lib/protocol.js checks every decision again before answering), so it hands out nothing but
// strings and null.
(function rules() {
  'use strict';
  const FRAMING = ['content-length', 'transfer-encoding', 'connection', 'keep-alive',
    'proxy-connection', 'te', 'trailer', 'upgrade', 'expect'];
  // Taken before a script runs: a script that replaces its realm's built-ins does not change these.
  const { apply } = Reflect;
  const { charCodeAt, toLowerCase, split: splitString, indexOf: indexOfString, slice: sliceString } = String.prototype;
  const { join } = Array.prototype;
  const { toString: numberToString } = Number.prototype;
  const code = (s, i) => apply(charCodeAt, s, [i]);
  const lower = (s) => apply(toLowerCase, s, []);
  const split = (s, sep) => apply(splitString, s, [sep]);
  const replaceAll = (s, a, b) => apply(join, split(s, a), [b]);
  const indexOf = (s, x) => apply(indexOfString, s, [x]);
  const slice = (s, a, b) => apply(sliceString, s, [a, b]);
  const toHex = (c) => apply(numberToString, c, [16]);

  /** Whether every UTF-16 unit of s passes ok(c). */
  function every(s, ok) {
    for (let i = 0; i < s.length; i++) if (!ok(code(s, i))) return false;
    return true;
  }
  /** Whether s is one of the FRAMING names, ignoring ASCII case. */
  function framing(s) {
    for (let f = 0; f < FRAMING.length; f++) {
      const name = FRAMING[f];
      let same = name.length === s.length;
      for (let i = 0; same && i < s.length; i++) same = (code(s, i) | 0x20) === code(name, i);
      if (same) return true;
    }
    return false;
  }

  // The limits of EditRules.java: what real servers accept, and what a request keeps in flight.
  const MAX_NAME = 256;
  const MAX_VALUE = 8192;
  const MAX_HEADERS = 100;
  const MAX_HEADER_BYTES = 64 * 1024;
  const MAX_PATH = 8192;
  const MAX_QUERY = 8192;
  const TCHAR = "!#$%&'*+-.^_`|~";
  const NOT_IN_URIS = '"<>\\^`{|}';
  const among = (set, c) => { for (let i = 0; i < set.length; i++) if (code(set, i) === c) return true; return false; };
  const tchar = (c) => (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || among(TCHAR, c);
  const uriChar = (c) => c > 32 && c < 127 && !among(NOT_IN_URIS, c);
  const hex = (c) => (c >= 48 && c <= 57) || (c >= 97 && c <= 102) || (c >= 65 && c <= 70);
  function badPercent(s) {
    for (let i = 0; i < s.length; i++) {
      if (code(s, i) === 37 && (i + 2 >= s.length || !hex(code(s, i + 1)) || !hex(code(s, i + 2)))) return true;
    }
    return false;
  }

  function nameProblem(n) {
    if (typeof n === 'string' && n.length > MAX_NAME) return `a header name of ${n.length} bytes is longer than ${MAX_NAME}`;
    if (typeof n !== 'string' || n === '' || !every(n, tchar)) {
      return `not a header name (a token of letters, digits and ${TCHAR}): '${typeof n === 'string' ? slice(n, 0, 100) : n}'`;
    }
    if (framing(n)) return `header ${n} is managed by the gateway (message framing or connection handling)`;
    return null;
  }

  // RFC 9110 field-value: no control character but HTAB.
  function valueProblem(v) {
    if (typeof v !== 'string') return 'a header value must be a string';
    if (v.length > MAX_VALUE) return `a header value of ${v.length} bytes is longer than ${MAX_VALUE}`;
    for (let i = 0; i < v.length; i++) {
      const c = code(v, i);
      if ((c < 0x20 && c !== 9) || c === 0x7f) return `a header value must not contain control characters (found 0x${toHex(c)})`;
    }
    return null;
  }

  /**
   * Whether the path, as any backend may read it, holds a control character or a '.' or '..'
   * segment (EditRules.leavesBase): read as sent and percent-decoded again and again (up to four
   * times), each reading taken as lax UTF-8 (overlong forms count) in Unicode compatibility form
   * (fullwidth dots and slashes count), '\\' as '/', a segment ending at ';', '?' or '#'.
   */
  const { normalize } = String.prototype;
  const STOPS = [';', '?', '#'];
  const { fromCodePoint } = String;
  function leavesBase(p) {
    let current = p;
    for (let round = 0; round < 5; round++) {
      current = apply(normalize, current, ['NFKC']); // a fullwidth '％' then "2e" is "%2e" to the next reading
      const view = replaceAll(current, '\\', '/');
      if (round > 0) {
        for (let i = 0; i < view.length; i++) {
          const c = code(view, i);
          if (c < 0x20 || (c >= 0x7f && c <= 0x9f)) return true; // C0, DEL, C1
        }
      }
      const segments = split(view, '/');
      for (let i = 0; i < segments.length; i++) {
        let end = segments[i].length;
        for (let j = 0; j < STOPS.length; j++) { // indexed: a script's realm may change Array's iterator
          const at = indexOf(segments[i], STOPS[j]);
          if (at >= 0 && at < end) end = at;
        }
        let seg = slice(segments[i], 0, end);
        while (seg.length > 0 && (code(seg, seg.length - 1) === 32 || code(seg, seg.length - 1) === 9)) seg = slice(seg, 0, seg.length - 1);
        if (seg === '.' || seg === '..') return true; // trailing spaces dropped, as Windows does
      }
      const next = percentDecoded(current);
      if (next === current) return false;
      current = next;
    }
    return true;
  }

  const hexValue = (c) => (c <= 57 ? c - 48 : (c | 32) - 87);
  /** Each well-formed %XX as its byte (other characters as their UTF-8 bytes), read as lax UTF-8. */
  function percentDecoded(s) {
    if (indexOf(s, '%') < 0) return s;
    const bytes = [];
    for (let i = 0; i < s.length; i++) {
      const c = code(s, i);
      if (c === 37 && i + 2 < s.length && hex(code(s, i + 1)) && hex(code(s, i + 2))) {
        bytes[bytes.length] = hexValue(code(s, i + 1)) * 16 + hexValue(code(s, i + 2));
        i += 2;
      } else if (c < 0x80) {
        bytes[bytes.length] = c;
      } else { // a URI character is ASCII (checked before): never reached for a valid path
        bytes[bytes.length] = 0xef; bytes[bytes.length] = 0xbf; bytes[bytes.length] = 0xbd;
      }
    }
    let out = '';
    for (let i = 0; i < bytes.length;) {
      const lead = bytes[i];
      const n = lead < 0x80 ? 0 : lead < 0xc0 ? -1 : lead < 0xe0 ? 1 : lead < 0xf0 ? 2 : lead < 0xf8 ? 3 : lead < 0xfc ? 4 : lead < 0xfe ? 5 : -1;
      let cp = n <= 0 ? lead : lead & (0x3f >> n);
      let ok = n >= 0 && i + n < bytes.length;
      for (let k = 1; ok && k <= n; k++) {
        if ((bytes[i + k] & 0xc0) !== 0x80) ok = false;
        else cp = cp * 64 + (bytes[i + k] & 0x3f);
      }
      if (!ok || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
        out += '\ufffd';
        i++;
      } else {
        out += fromCodePoint(cp);
        i += n + 1;
      }
    }
    return out;
  }

  /** Headers a script sets, together: at most MAX_HEADERS and MAX_HEADER_BYTES; null when fine. */
  function headersProblem(count, bytes) {
    if (count > MAX_HEADERS || bytes > MAX_HEADER_BYTES) {
      return `a script may set at most ${MAX_HEADERS} headers and ${MAX_HEADER_BYTES >> 10} KiB of headers per request or response`;
    }
    return null;
  }

  /** A path to forward: starts with '/', URI characters only (at most MAX_PATH), no '?' or '#', no dot segments. */
  function pathProblem(p) {
    if (typeof p !== 'string' || code(p, 0) !== 47) return `the path must start with '/', got '${typeof p === 'string' ? slice(p, 0, 100) : p}'`;
    if (p.length > MAX_PATH) return `a path of ${p.length} bytes is longer than ${MAX_PATH}`;
    if (!every(p, (c) => uriChar(c) && c !== 63 && c !== 35)) {
      return "the path must hold only the characters of a URI, with no '?' or '#' (percent-encode spaces, non-ASCII and \" < > \\ ^ ` { | }; set_query sets the query)";
    }
    if (badPercent(p)) return "the path has a '%' not followed by two hex digits";
    if (leavesBase(p)) {
      return "the path must not contain '.' or '..' segments or control characters, plain or %-encoded in any way a "
        + "backend may decode them: it would leave the service's base path";
    }
    return null;
  }

  /** A query to forward (without '?'): no spaces, control characters or '#'. */
  function queryProblem(q) {
    if (typeof q !== 'string') return 'the query must be a string';
    if (q.length > MAX_QUERY) return `a query of ${q.length} bytes is longer than ${MAX_QUERY}`;
    if (!every(q, (c) => uriChar(c) && c !== 35)) {
      return `the query must hold only the characters of a URI, with no '#' (percent-encode spaces, non-ASCII and " < > \\ ^ \` { | }), got '${slice(q, 0, 100)}'`;
    }
    if (badPercent(q)) return "the query has a '%' not followed by two hex digits";
    return null;
  }

  return Object.freeze({ nameProblem, valueProblem, pathProblem, queryProblem, headersProblem });
});
