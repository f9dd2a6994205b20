"""One tenant's key/value store, as src/main/java/dev/keystone/script/KeyValueStore.java (and the
Node.js engine's lib/kv.js): strings, numbers or booleans, per-key TTLs in seconds, at most 10,000
keys of up to 256 characters, values up to 64 KiB. Held in the main process, never in a worker:
a worker asks for its own tenant's keys over its pipe and the main process answers for that
tenant only (the worker's requests carry no tenant; whatever a script sends, it reaches only the
store of the tenant its worker was started for). Kept across reloads and across workers killed
and replaced.

Bounded in bytes as well: per tenant (default 16 MiB), all stores together (default 128 MiB),
each write checked before it is stored, so a tenant that fills its store gets an error and
cannot take the memory of the others."""

import sys
import time

from .frames import KV_KEY_CHARS, KV_VALUE_CHARS

LIMITS = {'max_keys': 10000, 'max_key_bytes': KV_KEY_CHARS, 'max_value_bytes': KV_VALUE_CHARS, 'max_bytes': 16 * 1024 * 1024}
# An entry's own memory besides its key and value: its list [value, expiry, bytes], the int of its
# bytes, its slot in the store's dict (which grows by doubling). Measured: 110 to 160 bytes.
ENTRY_BYTES = 240


class KvError(Exception):
    """A kv operation refused: a script error at the script's line."""


class Memory:
    """What all stores take together. The last quarter is kept for tenants that hold little (up to a
    sixty-fourth of it each): a few tenants filling their stores cannot make every other
    tenant's kv.set fail (attack on the Node.js engine, round 2, N2-4)."""

    def __init__(self, max_bytes):
        self.max = max_bytes
        self.used = 0

    def reserve(self, size, store=None):
        if size > 0 and self.used + size > self.max:
            return False
        if size > 0 and store is not None and self.used + size > self.max * 0.75 and store.bytes + size > self.max / 64:
            return False
        self.used += size
        return True

    def release(self, size):
        self.used -= size


def size_of(key, value):
    """What an entry takes in this process, at least: its key and value as CPython holds them (a str
    takes 1, 2 or 4 bytes a character, by its widest character: a 64K-character emoji value 262 KB,
    not the 131 KB two bytes a character made of it, attack s17py F6), and the entry itself."""
    return sys.getsizeof(key) + sys.getsizeof(value) + ENTRY_BYTES


def is_number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


class KeyValueStore:
    def __init__(self, tenant, limits=LIMITS, memory=None, clock=time.monotonic):
        self.tenant = tenant
        self.limits = limits
        self.memory = memory if memory is not None else Memory(float('inf'))
        self.clock = clock
        self.bytes = 0
        self.entries = {}  # key -> [value, expires_at (0: never), bytes]

    def get(self, key):
        e = self.entries.get(key)
        if e is None:
            return None
        if self._expired(e, self.clock()):
            self._remove(key)
            return None
        return e[0]

    def set(self, key, value, ttl):
        self._check_key(key)
        if value is None:
            self._remove(key)
            return
        if isinstance(value, str) and len(value) > self.limits['max_value_bytes']:
            raise KvError(f"kv value above {self.limits['max_value_bytes']} bytes")
        self._put(key, [value, self._expiry(ttl), size_of(key, value)])

    def incr(self, key, by, ttl):
        """Adds `by` to a number (absent or expired counts as 0); a new key gets the TTL, an old one keeps its own."""
        self._check_key(key)
        old = self.entries.get(key)
        if old is None or self._expired(old, self.clock()):
            self._put(key, [by, self._expiry(ttl), size_of(key, by)])
            return by
        if not is_number(old[0]):
            raise KvError(f"kv.incr: the value of '{key}' is not a number")
        old[0] = old[0] + by
        return old[0]

    def _put(self, key, e):
        old = self.entries.get(key)
        old_bytes = 0 if old is None else old[2]
        if old is None and len(self.entries) >= self.limits['max_keys']:
            self._drop_expired()
            if len(self.entries) >= self.limits['max_keys']:
                raise KvError(f"kv store of tenant {self.tenant} is full ({self.limits['max_keys']} keys): set a ttl or delete keys")
        growth = e[2] - old_bytes
        if growth > 0 and self.bytes + growth > self.limits['max_bytes']:
            self._drop_expired()
        if growth > 0 and (self.bytes + growth > self.limits['max_bytes'] or not self.memory.reserve(growth, self)):
            process_full = ", and the process's kv memory is used up" if self.bytes + growth <= self.limits['max_bytes'] else ''
            raise KvError(f"kv store of tenant {self.tenant} is full ({self.bytes >> 10} KiB of "
                          f"{self.limits['max_bytes'] >> 10} KiB{process_full}): set a ttl or delete keys")
        if growth < 0:
            self.memory.release(-growth)
        self.bytes += growth
        self.entries[key] = e

    def _remove(self, key):
        old = self.entries.pop(key, None)
        if old is not None:
            self.bytes -= old[2]
            self.memory.release(old[2])

    def _drop_expired(self):
        now = self.clock()
        for k in [k for k, e in self.entries.items() if self._expired(e, now)]:
            self._remove(k)

    @staticmethod
    def _expired(e, now):
        return e[1] > 0 and now >= e[1]

    def _expiry(self, ttl):
        if ttl < 0:
            raise KvError('kv: the ttl must not be negative')
        return 0 if ttl == 0 else self.clock() + max(0.001, int(ttl * 1000) / 1000)

    def _check_key(self, key):
        if not isinstance(key, str) or key == '' or len(key) > self.limits['max_key_bytes']:
            raise KvError(f"kv keys are 1 to {self.limits['max_key_bytes']} characters")


def _bounded(v):
    """A number as a JavaScript number would hold it: a Python int past 2^63 (which can grow to
    thousands of digits) becomes a float."""
    if isinstance(v, int) and not isinstance(v, bool) and abs(v) > 2 ** 63:
        return float(v)
    return v


class Stores:
    """Every tenant's store, made on first use."""

    def __init__(self, limits=LIMITS, total_bytes=128 * 1024 * 1024):
        self.limits = limits
        self.memory = Memory(total_bytes)
        self.by_tenant = {}

    def of(self, tenant):
        s = self.by_tenant.get(tenant)
        if s is None:
            s = self.by_tenant[tenant] = KeyValueStore(tenant, self.limits, self.memory)
        return s

    def serve(self, tenant, fn, args):
        """One operation a worker asked for, for the worker's own `tenant`: the result, or raises
        KvError. The arguments came from untrusted code: checked here, whatever the API did."""
        store = self.of(tenant)
        if not isinstance(args, list) or len(args) != 3:
            raise KvError('kv: malformed request')
        key, value, number = args
        if not isinstance(key, str):
            raise KvError('kv keys are strings')
        if fn == 'get':
            return store.get(key)
        if not is_number(number) or number != number or number in (float('inf'), float('-inf')):
            raise KvError('kv: the ttl must be a number')
        value = _bounded(value)
        if fn == 'set':
            if value is not None and not isinstance(value, (str, int, float, bool)):
                raise KvError('kv values are strings, numbers or booleans')
            store.set(key, value, number)
            return None
        if fn == 'incr':
            if not is_number(value) or value != value or value in (float('inf'), float('-inf')):
                raise KvError('kv.incr: the amount must be a number')
            return _bounded(store.incr(key, value, number))
        raise KvError(f'kv: unknown operation {str(fn)[:20]}')
