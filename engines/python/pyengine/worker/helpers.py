"""The script helpers (docs/scripting.md, "Helpers"): hash, random, now, log, json and kv, and this
engine's data. kv, log and data are requests to the main process over the worker's pipe: the main
process keeps the stores and the data files' text and writes the log, for this worker's tenant
only, whatever a request says."""

import json as _json
import math
import random as _random
import re
import time
from collections.abc import Mapping

from . import api
from .api import ScriptError, LimitError
from ..frames import KV_KEY_CHARS, KV_VALUE_CHARS

MAX_LOG = 2000
MAX_LOG_LINES_PER_CALL = 20
MAX_DEPTH = 64
# json.decode reads at most this many values (one per ',' '[' '{' outside strings, about): every
# value the Lua engine reads is charged one instruction of its 200,000.
MAX_JSON_VALUES = 200000


def hash(s):  # noqa: A001 (the API's name)
    """FNV-1a (32 bit) of the UTF-8 bytes, masked to 31 bits; a lone surrogate counts as '?'."""
    if isinstance(s, (bytes, bytearray)):
        data = bytes(s)
    else:
        data = api.string(s, 'hash', 1).encode('utf-8', 'replace')
    h = 0x811c9dc5
    for b in data:
        h = ((h ^ b) * 0x01000193) & 0xffffffff
    return h & 0x7fffffff


def random(m=None, n=None):  # noqa: A001
    """random() in [0, 1), random(n) in 1..n, random(m, n) in m..n."""
    r = _random.random()
    if m is None:
        return r
    lo = 1 if n is None else api.whole(m, 'random')
    hi = api.whole(m if n is None else n, 'random')
    if lo > hi:
        raise ScriptError('random: interval is empty')
    return lo + math.floor(r * (hi - lo + 1))


def now():
    """Seconds since 1970, with milliseconds."""
    return time.time()


class _Cut(Exception):
    """Measuring gave up: the JSON text would pass its limit."""


def _measure(root, most, fn):
    """The length of root's JSON text, given up (_Cut) as soon as it passes `most`, before any of
    it is written: each container and string is measured once, however often it is referenced, so
    a structure that doubles at each level or 300 references to one big string cost a few steps."""
    sizes = {}  # id -> length, or -1 while it is measured (a value containing itself)

    def size(v, depth):
        if depth > MAX_DEPTH:
            raise ScriptError(f'{fn}: nested deeper than {MAX_DEPTH} (a value containing itself?)')
        if v is None or v is True:
            return 4
        if v is False:
            return 5
        if isinstance(v, (int, float)):
            if isinstance(v, float) and not math.isfinite(v):
                raise ScriptError(f'{fn}: cannot encode {v!r}')
            return len(_json.dumps(v))
        if not isinstance(v, (str, list, tuple, Mapping)):
            raise ScriptError(f'{fn}: cannot encode a {api.type_name(v)}')
        known = sizes.get(id(v))
        if known == -1:
            raise ScriptError(f'{fn}: nested deeper than {MAX_DEPTH} (a value containing itself?)')
        if known is not None:
            return known
        if isinstance(v, str):
            total = most + 1 if len(v) > most else len(_json.dumps(v, ensure_ascii=False))
        else:
            sizes[id(v)] = -1
            total = 2
            items = list(v.items()) if isinstance(v, Mapping) else v
            for i, item in enumerate(items):
                if total > most:
                    break
                if isinstance(v, Mapping):
                    k, item = item
                    total += len(_json.dumps(api.text(k), ensure_ascii=False)) + 1
                total += (1 if i else 0) + size(item, depth + 1)
        sizes[id(v)] = total
        return total

    if size(root, 0) > most:
        raise _Cut()


def _plain(o):
    if isinstance(o, Mapping):
        return dict(o)
    raise TypeError(f'cannot encode a {api.type_name(o)}')


def _write(v, most, fn):
    _measure(v, most, fn)
    try:
        s = _json.dumps(v, separators=(',', ':'), ensure_ascii=False, default=_plain)
    except (TypeError, ValueError) as e:
        raise ScriptError(f'{fn}: {e}') from None
    if len(s) > most:  # a Mapping that changed its mind between measuring and writing
        raise _Cut()
    return s


def _values(text):
    """About how many values a JSON text holds: its ',', '[' and '{' (outside strings, if it matters)."""
    n = text.count(',') + text.count('[') + text.count('{')
    if n > MAX_JSON_VALUES and '"' in text:
        stripped = re.sub(r'"(?:[^"\\]|\\.)*"', '""', text)
        n = stripped.count(',') + stripped.count('[') + stripped.count('{')
    return n


def _no_constant(name):
    raise ValueError(f'{name} is not JSON')


def _depth_ok(v):
    stack = [(v, 0)]
    while stack:
        x, d = stack.pop()
        if isinstance(x, (list, dict)):
            if d >= MAX_DEPTH:
                return False
            stack.extend((y, d + 1) for y in (x.values() if isinstance(x, dict) else x))
    return True


class Json:
    """json.encode(v) and json.decode(text), with the Lua engine's bounds."""

    @staticmethod
    def encode(v):
        try:
            return _write(v, api.MAX_STRING, 'json.encode')
        except _Cut:
            raise LimitError(f'json.encode: string above the limit of {api.MAX_STRING} bytes') from None

    @staticmethod
    def decode(s):
        if isinstance(s, (bytes, bytearray)):
            s = bytes(s).decode('utf-8', 'replace')
        text = api.string(s, 'json.decode', 1)
        n = _values(text)
        if n > MAX_JSON_VALUES:
            raise ScriptError(f'json.decode: a text of about {n} values is above the limit of {MAX_JSON_VALUES}')
        try:
            v = _json.loads(text, parse_constant=_no_constant)
        except RecursionError:
            raise ScriptError(f'json.decode: nested deeper than {MAX_DEPTH}') from None
        except ValueError as e:
            raise ScriptError(f'json.decode: {e}') from None
        if not _depth_ok(v):
            raise ScriptError(f'json.decode: nested deeper than {MAX_DEPTH}')
        return v


def log(*args):
    """One INFO line tagged with tenant and request id; the main process escapes, cuts and counts it."""
    c = api.call('log')
    out = ''
    for i, a in enumerate(args):
        if len(out) > MAX_LOG:
            break
        room = MAX_LOG + 1 - len(out)
        if isinstance(a, str):
            s = a
        elif isinstance(a, (Mapping, list, tuple)):
            try:
                s = _write(a, room, 'log')
            except _Cut:
                s = '{...}' if isinstance(a, Mapping) else '[...]'  # too long for the line
        else:
            s = str(a)
        out += (' ' if i else '') + s[:room]
    c.logged += 1
    if c.logged <= MAX_LOG_LINES_PER_CALL + 1:  # the 21st tells the main process lines were dropped
        c.channel.send({'op': 'log', 'text': out[:MAX_LOG + 1]})


# A data file's name: directly in the data directory (no path), not hidden, *.csv, *.json or *.txt.
_DATA_NAME = re.compile(r'[^./\\\x00-\x1f][^/\\\x00-\x1f]{0,250}\.(?:csv|json|txt)')


def data(name):
    """The text (a str) of data file `name` of the engine's data directory, as the engine read it at
    its last (re)load: `data('training.csv')`. At the top level too: that is where to read it, once."""
    if not isinstance(name, str):
        raise ScriptError(f'data: bad argument #1 (string expected, got {api.type_name(name)})')
    if not _DATA_NAME.fullmatch(name):
        raise ScriptError(f'data: {name[:100]!r} is not a data file\'s name (a *.csv, *.json or *.txt file directly '
                          "in the data directory, such as 'training.csv')")
    channel = api.channel
    if channel is None:
        raise ScriptError('data is only available while a script loads or handles a request')
    channel.send({'op': 'data', 'name': name})
    reply = channel.recv()
    if reply.get('op') != 'data':
        raise ScriptError('data: the engine answered out of turn')
    if 'error' in reply:
        raise ScriptError(str(reply['error']))
    return reply.get('ok')


def _kv(fn, key, value, n):
    c = api.call(f'kv.{fn}')
    c.channel.send({'op': 'kv', 'fn': fn, 'args': [key, value, n]})
    reply = c.channel.recv()
    if reply.get('op') != 'kv':
        raise ScriptError('kv: the engine answered out of turn')
    if 'error' in reply:
        raise ScriptError(str(reply['error']))
    return reply.get('ok')


def _kv_value(v):
    if v is None or isinstance(v, (str, bool)) or api.is_number(v):
        if isinstance(v, float) and not math.isfinite(v):
            raise ScriptError('kv values are finite numbers')
        if isinstance(v, str) and len(v) > KV_VALUE_CHARS:
            raise ScriptError(f'kv value above {KV_VALUE_CHARS} bytes')
        return v
    raise ScriptError(f'kv values are strings, numbers or booleans, not a {api.type_name(v)}')


def _kv_key(k, fn):
    """A key as the main process takes it (kv.py checks it again): here, so that a key far too long is
    the script's error at its line, never a message bigger than the main process reads (frames.py)."""
    key = api.string(k, fn, 1)
    if key == '' or len(key) > KV_KEY_CHARS:
        raise ScriptError(f'kv keys are 1 to {KV_KEY_CHARS} characters')
    return key


class Kv:
    """The tenant's key/value store: kv.get, kv.set, kv.incr, kv.delete."""

    @staticmethod
    def get(k):
        return _kv('get', _kv_key(k, 'kv.get'), None, None)

    @staticmethod
    def set(k, v, ttl=None):
        _kv('set', _kv_key(k, 'kv.set'), _kv_value(v), api.opt_number(ttl, 'kv.set', 3, 0))

    @staticmethod
    def incr(k, by=None, ttl=None):
        return _kv('incr', _kv_key(k, 'kv.incr'), api.opt_number(by, 'kv.incr', 2, 1), api.opt_number(ttl, 'kv.incr', 3, 0))

    @staticmethod
    def delete(k):
        _kv('set', _kv_key(k, 'kv.delete'), None, 0)


json = Json()
kv = Kv()
