"""on_request(req): the request a script sees and what it may decide and edit (docs/scripting.md,
"The request"), as src/main/java/dev/keystone/script/RequestScript.java and the Node.js engine's
lib/sandbox/api.js: route_to, respond and reject record the decision (the last call wins); the
req.set_* edits apply whatever the decision."""

import binascii
import re
import urllib.parse
from collections.abc import Mapping

from .. import rules
from . import api
from .api import ScriptError, LimitError, Record, Headers

_BAD_ESCAPE = re.compile(r'%(?![0-9A-Fa-f]{2})')


def _deciding(fn):
    c = api.current
    if c is None or c.verdict is None:
        raise ScriptError(f'{fn}: only on_request decides (not on_response, not the top level)')
    return c


def route_to(target):
    """route_to('name') or route_to({'label': 'value', ...}): the backends to route to."""
    c = _deciding('route_to')
    if isinstance(target, (str, int, float)) and not isinstance(target, bool):
        name = api.string(target, 'route_to', 1)
        matches = [b for b in c.backends if b['name'] == name]
        if not matches:
            raise ScriptError(f"route_to: tenant {c.tenant} has no backend named '{name}'")
    elif isinstance(target, Mapping):
        wanted = {}
        for k in list(target.keys()):  # a label set to None is left out, as nil is in a Lua table
            v = target[k]
            if v is not None:
                wanted[api.text(k)] = api.text(v)
        name = '{' + ', '.join(f'{k}={v}' for k, v in wanted.items()) + '}'
        matches = [b for b in c.backends if all(b['labels'].get(k) == v for k, v in wanted.items())]
        if not matches:
            raise ScriptError(f'route_to: no backend of tenant {c.tenant} has the labels {name}')
    else:
        raise ScriptError(f'route_to: expected a backend name or a table of labels, got {api.type_name(target)}')
    c.verdict = {'kind': 'route', 'target': name, 'backends': [b['name'] for b in matches]}
    return True


def _status(v, low, high, fn):
    s = api.number(v, fn, 1)
    if not float(s).is_integer() or s < low or s > high:
        raise ScriptError(f'{fn}: status must be between {low} and {high}, got {api.js_number(s)}')
    return int(s)


def _text(v, fn, what, default):
    """A body or reason: at most MAX_STRING characters (the 1 MiB a Lua script's strings may have)."""
    t = api.opt_string(v, fn, 2, default)
    if len(t) > api.MAX_STRING:
        raise LimitError(f'{fn}: a {what} of {len(t)} characters is above the limit of {api.MAX_STRING}')
    return t


def respond(status, body=None, headers=None):
    """Answer without a backend: status 200-599 (a 1xx is an interim answer, never a final one)."""
    c = _deciding('respond')
    d = {'kind': 'respond', 'status': _status(status, 200, 599, 'respond'), 'body': _text(body, 'respond', 'body', ''),
         'headers': {}}
    if headers is not None:
        if not isinstance(headers, Mapping):
            raise ScriptError(f'respond: bad argument #3 (a dict of headers expected, got {api.type_name(headers)})')
        for k in list(headers.keys()):
            c.edit(d['headers'], api.header_name(k, 'respond'), api.header_value(headers[k], 'respond', 3))
    c.verdict = d
    return True


def reject(status, reason=None):
    c = _deciding('reject')
    c.verdict = {'kind': 'reject', 'status': _status(status, 400, 599, 'reject'),
                 'reason': _text(reason, 'reject', 'reason', 'rejected')}
    return True


def _decode(s):
    """%- and +-decoding as JavaScript's decodeURIComponent; a bad escape or bad UTF-8 leaves the raw text."""
    t = s.replace('+', ' ')
    if '%' not in t:
        return t
    if _BAD_ESCAPE.search(t):
        return s
    try:
        return urllib.parse.unquote(t, errors='strict')
    except UnicodeDecodeError:
        return s


def query_table(q):
    """a=1&b=x%20y as {'a': '1', 'b': 'x y'}; a repeated name keeps its first value."""
    out = {}
    for pair in (q or '').split('&'):
        if pair == '':
            continue
        k, eq, v = pair.partition('=')
        k = _decode(k)
        if k not in out:
            out[k] = _decode(v) if eq else ''
    return out


class Request:
    """`req` of on_request(req): the request's fields and its edits."""

    def __init__(self, r, call):
        self._call = call
        self._pairs = r['headers']
        self.method = r['method']
        self.path = r['path']
        self.raw_path = r['raw_path']
        self.query = query_table(r.get('query'))
        self.query_string = r.get('query') or ''
        self.host = r.get('host')
        self.client_ip = r.get('client_ip')
        self.tenant = r['tenant']
        self.request_id = r['request_id']
        self.headers = Headers(r['headers'])
        self.backends = Record({b['name']: api.backend_record(b) for b in r.get('backends') or []})
        self.params = api.params_of(r)  # read-only; an empty Record without params
        self._bytes = None
        if 'body' in r:
            self.body = r['body']  # the text of a UTF-8 body
        elif 'body_base64' in r:
            self._bytes = binascii.a2b_base64((r['body_base64'] + '=' * (-len(r['body_base64']) % 4)).encode('ascii'))
            self.body = self._bytes.decode('latin-1')  # one character per byte, as the JavaScript engine
        else:
            self.body = None

    @property
    def body_bytes(self):
        """The body's raw bytes (the UTF-8 of a text body), None without a body."""
        if self._bytes is None and isinstance(self.body, str):
            self._bytes = self.body.encode('utf-8', 'replace')
        return self._bytes

    def _edits(self, fn):
        if api.current is not self._call:
            raise ScriptError(f'{fn}: the call of this request is over')
        return self._call

    def header_values(self, name):
        n = api.string(name, 'header_values', 1).lower()
        return [v for k, v in self._pairs if k.lower() == n]

    def set_header(self, name, value):
        c = self._edits('set_header')
        c.edit(c.edits['headerEdits'], api.header_name(name, 'set_header'), api.header_value(value, 'set_header'))

    def remove_header(self, name):
        c = self._edits('remove_header')
        c.edit(c.edits['headerEdits'], api.header_name(name, 'remove_header'), None)  # None removes

    def set_path(self, p):
        c = self._edits('set_path')
        path = api.string(p, 'set_path', 1)
        problem = rules.path_problem(path)
        if problem is not None:
            raise ScriptError(f'set_path: {problem}')
        c.edits['path'] = path

    def set_query(self, q):
        c = self._edits('set_query')
        query = api.opt_string(q, 'set_query', 1, '')
        query = query[1:] if query.startswith('?') else query
        problem = rules.query_problem(query)
        if problem is not None:
            raise ScriptError(f'set_query: {problem}')
        c.edits['query'] = query
