'use strict';
// What JSON.parse may cost inside a tenant's isolate, priced before it runs (sandbox/api.js,
// guardedParse). QuickJS parses JSON in C, where it never asks for the deadline: a client's 990 KB
// body of 330,000 empty arrays held the engine's thread 150-200 ms and ran the isolate out of
// memory, and its tenant was penalised for the lump (attack round 8, N8-1).
//
// The prices, from QuickJS (the engine's build) on this project's 2-core host, with a margin:
// 330,000 empty arrays or objects in 990 KB took 155-190 ms (a container: about 500 ns), 500,000
// numbers 32-62 ms (a value: about 100 ns), 100,000 keys 36 ms (a key: about 200 ns more), 1 MB of
// one string 4 ms (a character: 10 ns at most); 5,000 ordinary records in 510 KB took 11 ms.
//
// And the keys' atoms: QuickJS interns every key in one hash table whose hash (h = h*263 + c,
// from 1) has no seed, and a new key walks its whole bucket. "A\u0200" and "B\u00f9" hash alike,
// so 8,000 keys made of such blocks fell in one bucket: 32 million steps, 213-310 ms for a 352 KB
// body priced at 5 ms (round 9, N9-1). So the walk is priced too: the distinct keys, in the order
// the parser meets them, go into a model of that table (AtomTable), which counts the steps.

const NS_CONTAINER = 500;
const NS_VALUE = 100; // each comma starts one
const NS_KEY = 200;
const NS_CHAR = 10;
const NS_STEP = 8; // a step of a bucket's walk (comparing hash, length and characters: measured 7-10 ns)
// A text the engine was not given: priced as if all of it were "[],".
const WORST_NS_PER_CHAR = 250;

const { ObjectKeys, integerOf } = require('./json-objects');

const HASH_MASK = 2 ** 30 - 1; // JS_ATOM_HASH_MASK
const SAME_HASH_COMPARED = 16;
const MOST_BITS = 17; // KeySet made for at most 2^16 keys (1.5 MiB of slots); it grows past them
const SEED = (Math.random() * 2 ** 32) | 0;

/** QuickJS's hash of a string atom (hash_string with atom type 1), over UTF-16 code units. */
function atomHash(key) {
  let h = 1;
  for (let i = 0; i < key.length; i++) h = (Math.imul(h, 263) + key.charCodeAt(i)) >>> 0;
  return h & HASH_MASK;
}

/**
 * The distinct keys met so far, by hash: open addressing over typed arrays (a V8 Map or Set took
 * 250-400 ns a key, as long as QuickJS's own parse), the slot from the hash mixed with this
 * process's seed (a text cannot aim at the slots). A hash's first key is compared by its place
 * in the text; others of the same hash kept as strings, up to SAME_HASH_COMPARED (no legitimate
 * text has more: further ones count as new).
 */
class KeySet {
  /** For the keys of `text`, at most `most` of them (sized for that: growing took half the time). */
  constructor(text, most) {
    this.text = text;
    this.grow(Math.min(MOST_BITS, Math.max(8, Math.ceil(Math.log2(most + 1)) + 1)));
  }

  grow(bits) {
    const old = this.slots === undefined ? null : { slots: this.slots, from: this.from, to: this.to, others: this.others };
    this.bits = bits;
    this.slots = new Int32Array(1 << bits); // a hash + 1; 0: free
    this.from = new Int32Array(1 << bits); // where its first key is in the text (-1: in others)
    this.to = new Int32Array(1 << bits);
    this.others = new Map(); // slot -> [keys of the same hash but the first]
    this.count = 0;
    if (old === null) return;
    for (let s = 0; s < old.slots.length; s++) {
      if (old.slots[s] === 0) continue;
      const slot = this.free(old.slots[s] - 1);
      this.put(slot, old.slots[s] - 1, old.from[s], old.to[s]);
      if (old.others.size > 0 && old.others.has(s)) this.others.set(slot, old.others.get(s));
    }
  }

  /** The slot of hash `h`: its own, or the free one where it goes. */
  free(h) {
    const mask = (1 << this.bits) - 1;
    let slot = Math.imul(h ^ SEED, 0x9e3779b1) >>> (32 - this.bits);
    while (this.slots[slot] !== 0 && this.slots[slot] !== h + 1) slot = (slot + 1) & mask;
    return slot;
  }

  put(slot, h, from, to) {
    this.slots[slot] = h + 1;
    this.from[slot] = from;
    this.to[slot] = to;
    this.count++;
  }

  /** Adds the key of hash `h` at text[from, to) (`key`: its text when escaped, else null); whether it is new. */
  add(h, from, to, key) {
    const slot = this.free(h);
    if (this.slots[slot] === 0) {
      if (key === null) this.put(slot, h, from, to);
      else {
        this.put(slot, h, -1, 0);
        this.others.set(slot, [key]);
      }
      if (this.count * 2 > this.slots.length) this.grow(this.bits + 1);
      return true;
    }
    const k = key === null ? this.text.slice(from, to) : key;
    const f = this.from[slot];
    if (f >= 0 && this.to[slot] - f === k.length && this.text.startsWith(k, f)) return false;
    let same = this.others.get(slot);
    if (same === undefined) this.others.set(slot, same = []);
    if (same.includes(k)) return false;
    if (same.length < SAME_HASH_COMPARED) same.push(k);
    return true;
  }
}

/**
 * QuickJS's atom table as the keys go in: 2^k buckets, doubled when it holds twice as many atoms.
 * It starts at 256 buckets (the least QuickJS has), with none of the atoms the runtime already
 * holds: a real table is as big or bigger, and its buckets no fuller for these keys.
 */
class AtomTable {
  constructor() {
    this.size = 256;
    this.counts = new Int32Array(this.size);
    this.hashes = [];
    this.steps = 0;
    this.fullest = 0;
  }

  /** A key met again (QuickJS finds its atom): the steps of its bucket's walk, at most. */
  again(h) {
    this.steps += this.counts[h & (this.size - 1)];
  }

  /** A new key of hash `h` goes in: the steps of its bucket's walk. */
  add(h) {
    this.hashes.push(h);
    const b = h & (this.size - 1);
    this.steps += this.counts[b];
    this.fullest = Math.max(this.fullest, ++this.counts[b]);
    if (this.hashes.length >= 2 * this.size) {
      this.size *= 2;
      this.counts = new Int32Array(this.size);
      for (const x of this.hashes) this.counts[x & (this.size - 1)]++;
    }
  }
}

const isSpace = (c) => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;

/**
 * {ms, containers, fullest} for `text`: what parsing it may take at most, its arrays and
 * objects, and the most keys in one bucket of the atom table. In V8: a count of the colons (to size
 * the key set), then one pass (a few ms a MB; 14 ms for 60,000 distinct keys in 1.3 MB).
 */
function priced(text) {
  let containers = 0;
  let commas = 0;
  let colons = 0;
  let most = 0; // at most one key a colon
  for (let at = text.indexOf(':'); at >= 0; at = text.indexOf(':', at + 1)) most++;
  const keys = new KeySet(text, most);
  const table = new AtomTable();
  const objects = new ObjectKeys(SEED);
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) { // a string, hashed on the way to its closing quote; a key when a colon follows
      let j = i + 1;
      let escaped = false;
      let h = 1;
      for (; j < n; j++) {
        const d = text.charCodeAt(j);
        if (d === 0x22) break;
        if (d === 0x5c) {
          escaped = true;
          j++;
        } else {
          h = (Math.imul(h, 263) + d) >>> 0;
        }
      }
      let k = j + 1;
      while (k < n && isSpace(text.charCodeAt(k))) k++;
      if (k < n && text.charCodeAt(k) === 0x3a) {
        let key = null;
        if (escaped) {
          try {
            key = JSON.parse(text.slice(i, j + 1));
          } catch {
            key = text.slice(i + 1, j); // QuickJS stops at it too
          }
          h = atomHash(key);
        } else {
          h &= HASH_MASK;
        }
        const first = text.charCodeAt(i + 1);
        const integer = j - i - 1 <= 10 && first >= 0x30 && first <= 0x39 ? integerOf(key === null ? text.slice(i + 1, j) : key) : -1;
        if (integer < 0) {
          if (keys.add(h, i + 1, j, key)) table.add(h);
          else table.again(h);
        }
        objects.key(h, integer);
      }
      i = j;
    } else if (c === 0x5b || c === 0x7b) {
      containers++;
      objects.opened(c === 0x7b);
    } else if (c === 0x5d || c === 0x7d) objects.closed();
    else if (c === 0x2c) commas++;
    else if (c === 0x3a) colons++;
  }
  const ns = containers * NS_CONTAINER + (commas + 1) * NS_VALUE + colons * NS_KEY + n * NS_CHAR + (table.steps + objects.steps) * NS_STEP;
  return { ms: ns / 1e6, containers, fullest: table.fullest };
}

/**
 * Why parsing a text of `length` characters must not start with `leftMs` of the call's deadline
 * left, or null when it may: `counted` is priced(text) when the engine was given the text, else
 * null (the worst case).
 */
function refusal(length, counted, leftMs) {
  const ms = counted === null ? length * WORST_NS_PER_CHAR / 1e6 : counted.ms;
  if (ms <= leftMs) return null;
  const what = counted === null ? '' : ` (${counted.containers} arrays or objects, ${counted.fullest} keys in one bucket of the atom table at most)`;
  return `a text of ${length} characters${what} may take ${Math.ceil(ms)} ms to parse, `
    + `more than the ${Math.max(0, Math.floor(leftMs))} ms left of the call's deadline`;
}

/** The same for other work over a text: `length` characters at `nsEach`. */
function workRefusal(length, nsEach, leftMs) {
  const ms = length * nsEach / 1e6;
  if (ms <= leftMs) return null;
  return `a text of ${length} characters may take ${Math.ceil(ms)} ms, more than the ${Math.max(0, Math.floor(leftMs))} ms left of the call's deadline`;
}

module.exports = { priced, refusal, workRefusal, atomHash };
