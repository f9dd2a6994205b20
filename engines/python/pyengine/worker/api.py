"""What the script API's parts share inside a worker: the running call, the errors a script gets,
argument checks with the Lua and Node.js engines' messages, and the read-only tables (headers,
backends, params) a script sees.

Nothing here is a security boundary: a script can reach and change all of it (CPython has no
private state). The worker's seccomp filter and process are the boundary, and the main process
checks every decision a worker hands back again. These checks are for scripts that mean well:
they put the error at the script's line, as the other engines do."""

import math
from collections.abc import Mapping

from .. import rules

MAX_STRING = 1 << 20  # a respond body, a reject reason, json.encode's result: Lua's string limit


class ScriptError(Exception):
    """A wrong use of the API: an error answer at the script's line, "limit": false."""


class LimitError(ScriptError):
    """A limit the script ran into (a string too long to build): "limit": true."""


class Call:
    """The call being run: its request, the decision or response edits so far, its header edits
    (counted together: at most 100 and 64 KiB per request or response), its log lines."""

    def __init__(self, channel, request, deciding):
        self.channel = channel
        self.request = request
        self.backends = request.get('backends') or []
        self.tenant = request['tenant']
        self.verdict = {'kind': 'continue'} if deciding else None  # route_to/respond/reject set it
        self.edits = {'headerEdits': {}}  # set_header, remove_header, set_path, set_query
        self.count = 0
        self.size = 0
        self.logged = 0

    def edit(self, table, name, value):
        """Puts a header edit (value None: a removal) into `table`, within the limits."""
        self.count += 1
        self.size += len(name) + (0 if value is None else len(value))
        problem = rules.headers_problem(self.count, self.size)
        if problem is not None:
            raise ScriptError(problem)
        table[name] = value

    def decision(self):
        d = dict(self.verdict)
        d.update(self.edits)
        return d


current = None  # the Call running now, or None (the script's top level, between calls)
channel = None  # the pipe to the main process while the main process runs a call: its top level too (data)


def call(fn):
    """The running call, for an API function that needs one."""
    if current is None:
        raise ScriptError(f'{fn} is only available while handling a request')
    return current


def type_name(v):
    if v is None:
        return 'None'
    if isinstance(v, bool):
        return 'bool'
    if isinstance(v, (int, float)):
        return 'number'
    return type(v).__name__


def js_number(v):
    """A number as the other engines write it: 2.0 as "2" (JavaScript's String(v))."""
    if isinstance(v, float) and v.is_integer() and abs(v) < 1e21:
        return str(int(v))
    return repr(v) if isinstance(v, float) else str(v)


def is_number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def text(v):
    """A value as text, where the other engines would take its text (a label's value)."""
    if isinstance(v, bool):
        return 'true' if v else 'false'
    if is_number(v):
        return js_number(v)
    return str(v)


def string(v, fn, n):
    """Like Lua's checkstring: a string, or a number taken as its text."""
    if isinstance(v, str):
        return v
    if is_number(v):
        return js_number(v)
    raise ScriptError(f'{fn}: bad argument #{n} (string expected, got {type_name(v)})')


def opt_string(v, fn, n, default):
    return default if v is None else string(v, fn, n)


def number(v, fn, n):
    if not is_number(v) or v != v:
        raise ScriptError(f'{fn}: bad argument #{n} (number expected, got {type_name(v)})')
    return v


def opt_number(v, fn, n, default):
    return default if v is None else number(v, fn, n)


def whole(v, fn):
    """math.trunc of a number argument, an error for NaN and infinities."""
    n = number(v, fn, 1)
    if math.isinf(n):
        raise ScriptError(f'{fn}: bad argument #1 (a finite number expected, got {js_number(n)})')
    return math.trunc(n)


def header_name(n, fn):
    name = string(n, fn, 1)
    problem = rules.name_problem(name)
    if problem is not None:
        raise ScriptError(problem)
    return name


def header_value(v, fn, n=2):
    value = string(v, fn, n)
    problem = rules.value_problem(value)
    if problem is not None:
        raise ScriptError(problem)
    return value


class Headers(Mapping):
    """Header values by name, ignoring case, the first value of a repeated header; a missing
    header is None (`req.headers['X-Id']` as in Lua and JavaScript), also with [].
    Iterates over the lower-case names."""

    def __init__(self, pairs):
        d = {}
        for name, value in pairs:
            d.setdefault(name.lower(), value)
        self._d = d

    def __getitem__(self, name):
        return self._d.get(name.lower()) if isinstance(name, str) else None

    def get(self, name, default=None):
        v = self[name]
        return default if v is None else v

    def __contains__(self, name):
        return isinstance(name, str) and name.lower() in self._d

    def __iter__(self):
        return iter(self._d)

    def __len__(self):
        return len(self._d)

    def __repr__(self):
        return f'Headers({self._d!r})'


class Record(dict):
    """A read-only table whose fields are also attributes (`b.name` or `b['name']`): a backend,
    its labels, the backends by name, the original interface's request, params (and the objects
    within them)."""

    __slots__ = ()

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    def _read_only(self, *args, **kwargs):
        raise TypeError('this table is read-only')

    __setitem__ = __delitem__ = __setattr__ = __delattr__ = _read_only
    clear = pop = popitem = setdefault = update = __ior__ = _read_only  # __ior__: `r |= {...}`


def frozen(v):
    """A params value as a script sees it (docs/engine-protocol.md, "Script parameters"): objects as
    read-only Records, lists as tuples, all the way down (at most 16 levels: the main process
    checked them). Made afresh for each call."""
    if isinstance(v, dict):
        return Record({k: frozen(x) for k, x in v.items()})
    if isinstance(v, list):
        return tuple(frozen(x) for x in v)
    return v


def params_of(r):
    """req.params / res.params for the request `r`: its params frozen, or an empty Record (a new
    one each call: a Record is read-only to scripts that mean well, not a boundary)."""
    p = r.get('params')
    return Record() if p is None else frozen(p)


def backend_record(b, extra=None):
    fields = {'name': b['name'], 'url': b['url'], 'healthy': b['healthy'], 'weight': b['weight'],
              'labels': Record(b['labels'])}
    if extra:
        fields.update(extra)
    return Record(fields)
