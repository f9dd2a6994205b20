'use strict';
// One tenant's key/value store, as in src/main/java/dev/keystone/script/KeyValueStore.java:
// strings, numbers or booleans, per-key TTLs in seconds, at most 10,000 keys of up to 256
// characters, values up to 64 KiB. Kept across reloads (and across rebuilds of the tenant's
// isolate); one engine process, one store per tenant, held here in the engine, never in an isolate.
//
// Bounded in bytes as well, like the Java store: per tenant min(64 MiB, a sixteenth of the
// engine's heap limit), all stores together an eighth of it, each write checked before it is
// stored, so a tenant that fills its store gets an error and cannot take the heap from the others.

const v8 = require('v8');

const HEAP = v8.getHeapStatistics().heap_size_limit;
const LIMITS = { maxKeys: 10000, maxKeyBytes: 256, maxValueBytes: 64 * 1024, maxBytes: Math.min(64 * 1024 * 1024, Math.floor(HEAP / 16)) };

/**
 * What all stores of the process may take together (an eighth of the heap, or of the engine's
 * memory budget: memory-plan.js). The last quarter is kept for tenants that hold little (up to a
 * sixty-fourth of it each; a sixteenth let seven tenants fill it all, round 5, N5-7): first come, first served, a few tenants filling their stores took the
 * whole of it and every other tenant's kv.set failed (attack on the Node engine, round 2, N2-4).
 */
class Memory {
  constructor(max = Math.floor(HEAP / 8)) {
    this.max = max;
    this.used = 0;
  }

  /** Whether `store` (holding store.bytes now) may take `bytes` more. */
  reserve(bytes, store = null) {
    if (bytes > 0 && this.used + bytes > this.max) return false;
    if (bytes > 0 && store !== null && this.used + bytes > this.max * 0.75 && store.bytes + bytes > this.max / 64) return false;
    this.used += bytes;
    return true;
  }

  release(bytes) {
    this.used -= bytes;
  }
}

/** A generous estimate of what an entry takes, as KeyValueStore.size in Java: two bytes a character plus overhead. */
function size(key, value) {
  return 96 + 2 * key.length + (typeof value === 'string' ? 40 + 2 * value.length : 16);
}

class KeyValueStore {
  constructor(limits = LIMITS, clock = Date.now, tenant = 'script', memory = new Memory(Infinity)) {
    this.limits = limits;
    this.clock = clock;
    this.tenant = tenant;
    this.memory = memory;
    this.bytes = 0;
    this.entries = new Map(); // key -> { value, expiresAt, bytes } (expiresAt 0: never)
  }

  /** The value, or null when absent or expired. */
  get(key) {
    const e = this.entries.get(key);
    if (e === undefined) return null;
    if (this.expired(e, this.clock())) {
      this.remove(key);
      return null;
    }
    return e.value;
  }

  /** Stores value (null deletes) for ttlSeconds (0: no expiry). */
  set(key, value, ttlSeconds) {
    this.checkKey(key);
    if (value === null) {
      this.remove(key);
      return;
    }
    if (typeof value === 'string' && value.length > this.limits.maxValueBytes) {
      throw new Error(`kv value above ${this.limits.maxValueBytes} bytes`);
    }
    const expiresAt = this.expiry(ttlSeconds);
    this.put(key, { value, expiresAt, bytes: size(key, value) });
  }

  /** Adds `by` to a number (absent or expired counts as 0); a new key gets the TTL, an old one keeps its own. */
  incr(key, by, ttlSeconds) {
    this.checkKey(key);
    const old = this.entries.get(key);
    if (old === undefined || this.expired(old, this.clock())) {
      this.put(key, { value: by, expiresAt: this.expiry(ttlSeconds), bytes: size(key, by) });
      return by;
    }
    if (typeof old.value !== 'number') throw new Error(`kv.incr: the value of '${key}' is not a number`);
    old.value += by;
    return old.value;
  }

  /** Stores entry e under key, replacing what it had, if the store and the process have room. */
  put(key, e) {
    const old = this.entries.get(key);
    const oldBytes = old === undefined ? 0 : old.bytes;
    if (old === undefined && this.entries.size >= this.limits.maxKeys) {
      this.dropExpired();
      if (this.entries.size >= this.limits.maxKeys) {
        throw new Error(`kv store of tenant ${this.tenant} is full (${this.limits.maxKeys} keys): set a ttl or delete keys`);
      }
    }
    const growth = e.bytes - oldBytes;
    if (growth > 0 && this.bytes + growth > this.limits.maxBytes) this.dropExpired();
    if (growth > 0 && (this.bytes + growth > this.limits.maxBytes || !this.memory.reserve(growth, this))) {
      const processFull = this.bytes + growth <= this.limits.maxBytes ? ", and the process's kv memory is used up" : '';
      throw new Error(`kv store of tenant ${this.tenant} is full (${this.bytes >> 10} KiB of ${this.limits.maxBytes >> 10} KiB${processFull}): set a ttl or delete keys`);
    }
    if (growth < 0) this.memory.release(-growth);
    this.bytes += growth;
    this.entries.set(key, e);
  }

  remove(key) {
    const old = this.entries.get(key);
    if (old === undefined) return;
    this.entries.delete(key);
    this.bytes -= old.bytes;
    this.memory.release(old.bytes);
  }

  dropExpired() {
    const now = this.clock();
    for (const [k, e] of this.entries) if (this.expired(e, now)) this.remove(k);
  }

  expired(e, now) {
    return e.expiresAt > 0 && now >= e.expiresAt;
  }

  expiry(ttlSeconds) {
    if (ttlSeconds < 0) throw new Error('kv: the ttl must not be negative');
    return ttlSeconds === 0 ? 0 : this.clock() + Math.max(1, Math.trunc(ttlSeconds * 1000));
  }

  checkKey(key) {
    if (typeof key !== 'string' || key === '' || key.length > this.limits.maxKeyBytes) {
      throw new Error(`kv keys are 1 to ${this.limits.maxKeyBytes} characters`);
    }
  }

}

/** Every tenant's store, made on first use. */
class Stores {
  constructor(limits = LIMITS, memory = new Memory()) {
    this.limits = limits;
    this.memory = memory;
    this.byTenant = new Map();
  }

  of(tenant) {
    let s = this.byTenant.get(tenant);
    if (s === undefined) {
      s = new KeyValueStore(this.limits, Date.now, tenant, this.memory);
      this.byTenant.set(tenant, s);
    }
    return s;
  }
}

module.exports = { KeyValueStore, Stores, Memory, LIMITS };
