"""The two other ways a script is called: on_response(res), the response phase (docs/scripting.md,
"The response"; RequestScript.onResponse in Java), and the original engine's
on_route_request(request, backends) (CompatApi.java), whose returned dict becomes a decision."""

from collections.abc import Mapping

from .. import rules
from . import api
from .api import ScriptError, Headers, Record


def carries_body(s):
    return 200 <= s <= 599 and s not in (204, 304)


class Response:
    """`res` of on_response(res): the backend's response head and its edits."""

    def __init__(self, r, head, call):
        self._call = call
        self._original = head['status']
        self.status = head['status']
        self.headers = Headers(head['headers'])
        self.backend = head['backend']
        self.tenant = r['tenant']
        self.request_id = r['request_id']
        self.path = r['path']
        self.method = r['method']
        self.params = api.params_of(r)  # read-only; an empty Record without params
        call.response_edits = {'status': head['status'], 'headers': {}}

    def _edits(self, fn):
        if api.current is not self._call:
            raise ScriptError(f'{fn}: the call of this response is over')
        return self._call

    def set_status(self, n):
        """Only between statuses that carry a body: the framing the backend chose must stay valid."""
        c = self._edits('set_status')
        s = api.whole(n, 'set_status')
        if not carries_body(self._original) or not carries_body(s):
            raise ScriptError(f'set_status: cannot change {self._original} to {s} (only between statuses 200-599 '
                              'other than 204 and 304: the body framing must stay valid)')
        c.response_edits['status'] = s

    def set_header(self, name, value):
        c = self._edits('set_header')
        c.edit(c.response_edits['headers'], api.header_name(name, 'set_header'), api.header_value(value, 'set_header'))

    def remove_header(self, name):
        c = self._edits('remove_header')
        c.edit(c.response_edits['headers'], api.header_name(name, 'remove_header'), None)


def _truthy(v):
    """Lua's truth, which the original interface's tables follow: only None and False are false."""
    return v is not None and v is not False


def compat_call(fn, c):
    """Runs on_route_request(request, backends) and records its returned dict as c's decision."""
    r = c.request
    request = Record({'method': r['method'], 'path': r['path'], 'host': r.get('host') or '',
                      'headers': Headers(r['headers']), 'body': ''})
    backends = [api.backend_record(b, {'health': b['healthy']}) for b in c.backends]
    t = fn(request, backends)
    if t is None:
        return
    if not isinstance(t, Mapping):
        raise ScriptError(f'on_route_request must return a dict or None, got {api.type_name(t)}')
    headers = t.get('modified_headers')
    if isinstance(headers, Mapping):
        for k in list(headers.keys()):
            v = api.string(headers[k], 'modified_headers', 2)
            problem = rules.value_problem(v)
            if problem is not None:
                raise ScriptError(f'modified_headers: {problem}')
            c.edit(c.edits['headerEdits'], api.header_name(k, 'modified_headers'), v)
    path = t.get('modified_path')
    if isinstance(path, str) and path != '':
        if not path.startswith('/'):
            raise ScriptError(f"modified_path must start with '/', got '{path[:100]}'")
        problem = rules.path_problem(path)
        if problem is not None:
            raise ScriptError(f'modified_path: {problem}')
        c.edits['path'] = path
    if _truthy(t.get('reject')):
        c.verdict = {'kind': 'reject', 'status': 403,
                     'reason': api.opt_string(t.get('reject_reason'), 'reject_reason', 1, 'rejected by script')}
        return
    name = t.get('selected_backend')
    if isinstance(name, str) and name != '':
        if not any(b['name'] == name for b in c.backends):
            raise ScriptError(f"selected_backend: tenant {c.tenant} has no backend named '{name}'")
        c.verdict = {'kind': 'route', 'target': name, 'backends': [name]}
