'use strict';
// One tenant's key/value store, as in src/main/java/dev/keystone/script/KeyValueStore.java:
// strings, numbers or booleans, per-key TTLs in seconds, at most 10,000 keys of up to 256
// characters, values up to 64 KiB. Kept across reloads; one engine process, one store per tenant.

const LIMITS = { maxKeys: 10000, maxKeyBytes: 256, maxValueBytes: 64 * 1024 };

class KeyValueStore {
  constructor(limits = LIMITS, clock = Date.now) {
    this.limits = limits;
    this.clock = clock;
    this.entries = new Map(); // key -> { value, expiresAt } (expiresAt 0: never)
  }

  /** The value, or null when absent or expired. */
  get(key) {
    const e = this.entries.get(key);
    if (e === undefined) return null;
    if (this.expired(e, this.clock())) {
      this.entries.delete(key);
      return null;
    }
    return e.value;
  }

  /** Stores value (null deletes) for ttlSeconds (0: no expiry). */
  set(key, value, ttlSeconds) {
    this.checkKey(key);
    if (value === null) {
      this.entries.delete(key);
      return;
    }
    if (typeof value === 'string' && value.length > this.limits.maxValueBytes) {
      throw new Error(`kv value above ${this.limits.maxValueBytes} bytes`);
    }
    const expiresAt = this.expiry(ttlSeconds);
    this.makeRoomFor(key);
    this.entries.set(key, { value, expiresAt });
  }

  /** Adds `by` to a number (absent or expired counts as 0); a new key gets the TTL, an old one keeps its own. */
  incr(key, by, ttlSeconds) {
    this.checkKey(key);
    this.makeRoomFor(key);
    const old = this.entries.get(key);
    if (old === undefined || this.expired(old, this.clock())) {
      this.entries.set(key, { value: by, expiresAt: this.expiry(ttlSeconds) });
      return by;
    }
    if (typeof old.value !== 'number') throw new Error(`kv.incr: the value of '${key}' is not a number`);
    old.value += by;
    return old.value;
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

  makeRoomFor(key) {
    if (this.entries.size < this.limits.maxKeys || this.entries.has(key)) return;
    const now = this.clock();
    for (const [k, e] of this.entries) if (this.expired(e, now)) this.entries.delete(k);
    if (this.entries.size >= this.limits.maxKeys) {
      throw new Error(`kv store full (${this.limits.maxKeys} keys): set a ttl or delete keys`);
    }
  }
}

/** Every tenant's store, made on first use. */
class Stores {
  constructor() {
    this.byTenant = new Map();
  }

  of(tenant) {
    let s = this.byTenant.get(tenant);
    if (s === undefined) {
      s = new KeyValueStore();
      this.byTenant.set(tenant, s);
    }
    return s;
  }
}

module.exports = { KeyValueStore, Stores, LIMITS };
