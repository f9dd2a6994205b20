// Runs inside each script's vm context, NOT as a Node module (see README.md here): evaluates to
// a function that makes the script helpers hash, random, now, log, json and kv
// (docs/scripting.md, "Helpers"); `host` reaches the engine for kv and log.
(function helpers(u, host, maxString) {
  'use strict';
  const { stringify, parse } = JSON;
  const { freeze, keys } = Object;
  const { Err, str, num, optNum, typeName } = u;

  // FNV-1a (32 bit) of the UTF-8 bytes, masked to 31 bits. A lone surrogate counts as '?', as in
  // Java's String.getBytes(UTF_8), so that every engine gives the same number for every string.
  function hash(s) {
    const text = str(s, 'hash', 1);
    let h = 0x811c9dc5;
    const add = (b) => { h = Math.imul(h ^ b, 0x01000193); };
    for (let i = 0; i < text.length; i++) {
      let c = text.charCodeAt(i);
      if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
        c = 0x10000 + ((c - 0xd800) << 10) + (text.charCodeAt(++i) - 0xdc00);
      } else if (c >= 0xd800 && c <= 0xdfff) {
        c = 0x3f;
      }
      if (c < 0x80) add(c);
      else if (c < 0x800) { add(0xc0 | (c >> 6)); add(0x80 | (c & 63)); }
      else if (c < 0x10000) { add(0xe0 | (c >> 12)); add(0x80 | ((c >> 6) & 63)); add(0x80 | (c & 63)); }
      else { add(0xf0 | (c >> 18)); add(0x80 | ((c >> 12) & 63)); add(0x80 | ((c >> 6) & 63)); add(0x80 | (c & 63)); }
    }
    return h & 0x7fffffff;
  }

  // random() in [0, 1), random(n) in 1..n, random(m, n) in m..n.
  function random(m, n) {
    const r = Math.random();
    if (m === undefined) return r;
    const lo = n === undefined ? 1 : Math.trunc(num(m, 'random', 1));
    const hi = Math.trunc(n === undefined ? num(m, 'random', 1) : num(n, 'random', 2));
    if (lo > hi) throw new Err('random: interval is empty');
    return lo + Math.floor(r * (hi - lo + 1));
  }

  function depth(v, d, fn) {
    if (d > 64) throw new Err(`${fn}: nested deeper than 64 (a value containing itself?)`);
    if (v !== null && typeof v === 'object') for (const k of keys(v)) depth(v[k], d + 1, fn);
  }
  const json = freeze({
    encode(v) {
      depth(v, 0, 'json.encode');
      const s = v === undefined ? 'null' : stringify(v);
      if (s === undefined) throw new Err(`json.encode: cannot encode a ${typeName(v)}`);
      if (s.length > maxString) throw u.limit(`string of ${s.length} bytes above the limit of ${maxString}`);
      return s;
    },
    decode(s) {
      const text = str(s, 'json.decode', 1);
      let v;
      try {
        v = parse(text);
      } catch (e) {
        throw new Err(`json.decode: ${e.message}`);
      }
      depth(v, 0, 'json.decode');
      return v;
    },
  });

  function kvValue(v) {
    if (v === undefined || v === null) return null; // like nil: deletes
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v;
    throw new Err(`kv values are strings, numbers or booleans, not a ${typeName(v)}`);
  }
  const kv = freeze({
    get(k) {
      const v = host('kv.get', str(k, 'kv.get', 1));
      return v === null ? undefined : v;
    },
    set(k, v, ttl) {
      host('kv.set', str(k, 'kv.set', 1), kvValue(v), optNum(ttl, 'kv.set', 3, 0));
    },
    incr: (k, by, ttl) => host('kv.incr', str(k, 'kv.incr', 1), optNum(by, 'kv.incr', 2, 1), optNum(ttl, 'kv.incr', 3, 0)),
    delete(k) {
      host('kv.set', str(k, 'kv.delete', 1), null, 0);
    },
  });

  function log(...args) {
    const text = (a) => (typeof a === 'string' ? a : typeof a === 'object' && a !== null ? stringify(a) : String(a));
    host('log', args.map(text).join(' '));
  }

  return { hash, random, now: () => Date.now() / 1000, log, json, kv };
});
