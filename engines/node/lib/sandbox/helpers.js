// Runs inside each script's QuickJS context, NOT as a Node module (see README.md here): evaluates to
// a function that makes the script helpers hash, random, now, log, json and kv
// (docs/scripting.md, "Helpers"); `host` reaches the engine for kv and log.
(function helpers(u, host, maxString) {
  'use strict';
  const { stringify, parse } = JSON;
  const { freeze, keys } = Object;
  const { isArray } = Array;
  const toText = String;
  const finite = isFinite;
  const { apply } = Reflect;
  const { slice: sliceString } = String.prototype;
  const MapOf = Map;
  const slice = (s, from, to) => apply(sliceString, s, [from, to]);
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

  // The length of v's JSON text, measured before any of it is written, and given up (CUT) as
  // soon as it passes `max`: each object or array is measured once, however often it is
  // referenced, so a structure that doubles at each level or 300 references to one big string
  // cost a few steps, not their size. Then JSON.stringify (in C) writes what fits.
  const CUT = {};
  const { get: mapGet, set: mapSet } = Map.prototype;
  const resolve = (v) => (v !== null && typeof v === 'object' && typeof v.toJSON === 'function' ? v.toJSON() : v);
  function measure(root, max, fn) {
    const sizes = new MapOf(); // object -> its length, or -1 while it is being measured
    function size(v, d, inArray) {
      if (d > 64) throw new Err(`${fn}: nested deeper than 64 (a value containing itself?)`);
      if (v === null) return 4;
      switch (typeof v) {
        case 'string': return v.length > max ? max + 1 : stringify(v).length;
        case 'number': return toText(v).length;
        case 'boolean': return 5;
        case 'undefined': case 'function': case 'symbol': return inArray || d === 0 ? 4 : -1; // -1: left out
        case 'bigint': throw new Err(`${fn}: cannot encode a bigint`);
        default: break;
      }
      const known = apply(mapGet, sizes, [v]);
      if (known === -1) throw new Err(`${fn}: nested deeper than 64 (a value containing itself?)`);
      if (known !== undefined) return known;
      apply(mapSet, sizes, [v, -1]);
      let total = 2;
      if (isArray(v)) {
        for (let i = 0; i < v.length && total <= max; i++) total += (i > 0 ? 1 : 0) + size(resolve(v[i]), d + 1, true);
      } else {
        let first = true;
        for (const k of keys(v)) {
          if (total > max) break;
          const item = size(resolve(v[k]), d + 1, false);
          if (item < 0) continue;
          total += (first ? 0 : 1) + stringify(k).length + 1 + item;
          first = false;
        }
      }
      apply(mapSet, sizes, [v, total]);
      return total;
    }
    if (size(resolve(root), 0, false) > max) throw CUT;
  }
  function write(v, max, fn) {
    measure(v, max, fn);
    const s = v === undefined ? 'null' : stringify(v);
    if (typeof s !== 'string' || s.length > max) throw CUT; // its getters or toJSON changed their minds
    return s;
  }

  const json = freeze({
    encode(v) {
      if (typeof v === 'function' || typeof v === 'symbol') throw new Err(`json.encode: cannot encode a ${typeName(v)}`);
      try {
        return write(v, maxString, 'json.encode');
      } catch (e) {
        if (e === CUT) throw u.limit(`json.encode: string above the limit of ${maxString} bytes`);
        throw e;
      }
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

  // At most MAX_LOG + 1 characters go to the engine (which cuts, marks and escapes them): each
  // argument is cut before it is joined, objects are written bounded, so log(big, big, ...) costs
  // no more than one line.
  const MAX_LOG = 2000;
  function log(...args) {
    let text = '';
    for (let i = 0; i < args.length && text.length <= MAX_LOG; i++) {
      const a = args[i];
      let s;
      if (typeof a === 'string') s = a;
      else if (a !== null && typeof a === 'object') {
        try {
          s = write(a, MAX_LOG + 1 - text.length, 'log');
        } catch (e) {
          if (e !== CUT) throw e;
          s = isArray(a) ? '[...]' : '{...}'; // too long for the line
        }
      } else s = toText(a);
      text += (i > 0 ? ' ' : '') + slice(s, 0, MAX_LOG + 1 - text.length);
    }
    host('log', text);
  }

  return { hash, random, now: () => Date.now() / 1000, log, json, kv };
});
