'use strict';
// The part of JSON.parse's price that depends on which object each key lands in (json-cost.js).
// QuickJS keeps an object's properties in a hash table of its own, whose bucket for an integer
// key ("0" to 2^31 - 1, not in the atom table) is the number's low bits: 20,000 keys that are
// multiples of 65,536 all fell in one bucket of one object, and a 283 KB body was priced at 10 ms
// and parsed for 121 ms and more (attack round 10, N10-1). And every property added looks for a
// shape to share in the runtime's shape table, whose hash of an integer key a text can aim at:
// there, each integer key is priced as if it walked past every distinct shape made with one.

const MAX_INT_ATOM = 2 ** 31 - 1;

/** One object's integer keys: QuickJS's table of them (at least one bucket a key; doubled as they come). */
class IntegerKeys {
  constructor() {
    this.size = 4; // JS_PROP_INITIAL_HASH_SIZE
    this.counts = new Int32Array(this.size);
    this.keys = [];
    this.seen = new Set();
  }

  /** Key `n` goes in: the steps of its bucket's walk (a repeated key is looked up, and walks too). */
  add(n) {
    if (this.seen.has(n)) return this.counts[n & (this.size - 1)];
    this.seen.add(n);
    if (this.keys.length + 1 > this.size) {
      while (this.keys.length + 1 > this.size) this.size *= 2;
      this.counts = new Int32Array(this.size);
      for (const k of this.keys) this.counts[k & (this.size - 1)]++;
    }
    const b = n & (this.size - 1);
    const steps = this.counts[b];
    this.counts[b]++;
    this.keys.push(n);
    return steps;
  }
}

/**
 * The objects a text's parse makes, as the scan meets their braces, keys and closing braces:
 * the steps of walks in their property tables and in the shape table, for integer keys.
 */
class ObjectKeys {
  constructor(seed) {
    this.seed = seed;
    this.open = []; // per open container: an object's {ints, sig, withInt}, or null for an array
    this.shapes = new Set(); // the key sequences (seeded hashes) of objects with an integer key
    this.steps = 0;
  }

  opened(isObject) {
    this.open.push(isObject ? { ints: null, sig: this.seed, withInt: false } : null);
  }

  closed() {
    const o = this.open.pop();
    if (o && o.withInt) this.shapes.add(o.sig);
  }

  /** A key of the innermost object: `hash`, its atom hash; `integer`, its number or -1. */
  key(hash, integer) {
    const o = this.open[this.open.length - 1];
    if (!o) return; // a key outside an object: QuickJS stops there
    o.sig = Math.imul(o.sig ^ (integer >= 0 ? integer : hash), 0x9e3779b1) + 0x7f4a7c15 | 0;
    if (integer < 0) return;
    o.withInt = true;
    if (o.ints === null) o.ints = new IntegerKeys();
    this.steps += o.ints.add(integer) + this.shapes.size + 1;
  }
}

/** The number QuickJS makes an integer atom of, for `key` (is_num_string, up to 2^31 - 1), or -1. */
function integerOf(key) {
  if (key.length > 10 || !/^(?:0|[1-9][0-9]*)$/.test(key)) return -1;
  const n = Number(key);
  return n <= MAX_INT_ATOM ? n : -1;
}

module.exports = { ObjectKeys, integerOf };
