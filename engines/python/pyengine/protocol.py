"""The protocol's JSON, version 1 (docs/engine-protocol.md), in the main process: a decide request
becomes the request a worker's script sees, a worker's decision becomes the answer; also the
original engine's /route/{tenant} shapes. Anything malformed is a BadRequest naming the field,
with the messages of engine/EngineProtocol.java.

A worker runs untrusted code and may hand back anything, so every decision is checked here again
(size first, then shape and edit rules, then the backends it names) before it becomes an answer."""

import json

from . import base64strict
from .fields import BadRequest, is_object, is_whole, required, optional, loose, list_of, backends
from .rules import name_problem, value_problem, path_problem, query_problem, headers_problem

VERSION = 1
MAX_TEXT = 1 << 20  # the longest body or reason a decision may carry (a Lua string's limit)
MAX_ERROR = 4096  # the longest error text an answer carries


def script_of(body):
    """The script's name from a decide or respond body (checked before anything else, as in Java)."""
    s = body.get('script')
    if not isinstance(s, str) or s == '':
        raise BadRequest("script: required, the name of a script in the engine's directory")
    return s


def tenant_of(body):
    return required(body, 'tenant')


def deadline_of(body):
    """The gateway's deadline for the call (deadline_ms, optional), in ms, or None."""
    d = body.get('deadline_ms')
    if d is None:
        return None
    if not is_whole(d) or d < 1 or d > 3600000:
        raise BadRequest('deadline_ms: a whole number of milliseconds, 1 to 3600000')
    return d


def _well_formed_text(text):
    """A lone surrogate (JSON may carry one) as '?', as Java encodes it."""
    try:
        text.encode('utf-8')
        return text
    except UnicodeEncodeError:
        return ''.join('?' if 0xd800 <= ord(c) <= 0xdfff else c for c in text)


def body_of(text, b64):
    """The body fields a worker gets: {'body': text} or {'body_base64': checked base64}, or {}."""
    if text is not None:
        return {'body': _well_formed_text(text)}
    if b64 is None:
        return {}
    try:
        base64strict.decode(b64)
    except ValueError as e:
        raise BadRequest(f'request.body_base64: not base64: {e}') from None
    return {'body_base64': b64}


MAX_PARAMS_DEPTH = 16  # the params object itself is level 1
MAX_PARAMS_BYTES = 64 * 1024  # as compact JSON, in UTF-8


_DOUBLE_LIMIT = 2 ** 1024  # a whole number this large (json.loads keeps it exact) is no double


def _params_problem(p):
    """Why `p` (an object, level 1) cannot be params, or None: an object or list within it deeper
    than MAX_PARAMS_DEPTH, or a whole number a double cannot hold (JavaScript makes it Infinity)."""
    stack = [(p, 1)]
    while stack:
        v, depth = stack.pop()
        if depth > MAX_PARAMS_DEPTH:
            return f'params: nested deeper than {MAX_PARAMS_DEPTH} levels'
        for x in (v.values() if isinstance(v, dict) else v):
            if isinstance(x, (dict, list)):
                stack.append((x, depth + 1))
            elif type(x) is int and not -_DOUBLE_LIMIT < x < _DOUBLE_LIMIT:
                return 'params: a number out of range'
    return None


def params_of(body):
    """The tenant's parameters for the script (docs/engine-protocol.md, "Script parameters"):
    {} without them (nothing is copied: the script gets an empty dict), else {'params': p} for the
    worker, which freezes them (worker/api.py frozen). An object (null is not taken as absent) of
    finite numbers (json.loads makes 1e400 inf), at most 64 KiB as compact JSON in UTF-8, at most
    16 levels deep. The size is measured first, by json.dumps in C: a params of megabytes is refused
    without a walk over it in Python."""
    if 'params' not in body:
        return {}
    p = body['params']
    if not is_object(p):
        raise BadRequest('params: a JSON object expected')
    try:
        text = json.dumps(p, separators=(',', ':'), ensure_ascii=False, allow_nan=False)
    except ValueError:
        raise BadRequest('params: a number out of range') from None
    except RecursionError:
        raise BadRequest(f'params: nested deeper than {MAX_PARAMS_DEPTH} levels') from None
    # A character is at least one byte: only a text of at most MAX_PARAMS_BYTES characters is encoded.
    if len(text) > MAX_PARAMS_BYTES or len(text.encode('utf-8', 'surrogatepass')) > MAX_PARAMS_BYTES:
        raise BadRequest(f'params: larger than {MAX_PARAMS_BYTES} bytes')
    problem = _params_problem(p)
    if problem is not None:
        raise BadRequest(problem)
    return {'params': p}


def decide_request(body, with_backends=True):
    """The request of POST /v1/decide as a worker gets it (in EngineProtocol's order of checks, params last);
    for POST /v1/respond (with_backends False), the same without backends."""
    blist = backends(list_of(body, 'backends')) if with_backends else []
    r = body.get('request')
    if not is_object(r):
        raise BadRequest('request: required, an object')
    headers = []
    for h in list_of(r, 'headers'):
        if not isinstance(h, list) or len(h) != 2 or not isinstance(h[0], str) or not isinstance(h[1], str):
            raise BadRequest('request.headers: each header is [name, value], two strings')
        headers.append([h[0], h[1]])
    path = required(r, 'path')
    method = required(r, 'method')
    raw_path = optional(r, 'raw_path')
    request_id = optional(r, 'request_id')
    out = {
        'method': method,
        'path': path,
        'raw_path': path if raw_path is None else raw_path,
        'query': optional(r, 'query'),
        'host': optional(r, 'host'),
        'client_ip': optional(r, 'client_ip'),
        'tenant': required(body, 'tenant'),
        'request_id': '-' if request_id is None else request_id,
        'headers': headers,
        'backends': blist,
    }
    out.update(body_of(optional(r, 'body'), optional(r, 'body_base64')))
    out.update(params_of(body))
    return out


def compat_request(tenant, body):
    """The original engine's request (POST /route/{tenant}): {method, path, host, headers, body, backends}; no params."""
    raw = body.get('headers')
    if raw is None:
        raw = {}
    if not is_object(raw):
        raise BadRequest('headers: an object of name to value')
    headers = [[k, v if isinstance(v, str) else json.dumps(v, separators=(',', ':'))] for k, v in raw.items()]
    path = loose(body, 'path')
    path = '/' if path is None else path
    method = loose(body, 'method')
    out = {
        'method': 'GET' if method is None else method,
        'path': path,
        'raw_path': path,
        'query': None,
        'host': loose(body, 'host'),
        'client_ip': None,
        'tenant': tenant,
        'request_id': '-',
        'headers': headers,
        'backends': backends(list_of(body, 'backends')),
    }
    out.update(body_of(loose(body, 'body'), None))
    return out


def size_problem(d):
    """Why a decision is too big, or None: checked before anything else reads it, each loop
    stopping at the first item past a limit."""
    for h in (d.get('headerEdits'), d.get('headers') if d.get('kind') == 'respond' else None):
        if not is_object(h):
            continue
        count = 0
        size = 0
        for k, v in h.items():
            count += 1
            size += len(k) + (len(v) if isinstance(v, str) else 0)
            problem = headers_problem(count, size)
            if problem is not None:
                return problem
    for key in ('body', 'reason'):
        v = d.get(key)
        if isinstance(v, str) and len(v) > MAX_TEXT:
            return f'the {key} is {len(v)} characters, above the limit of {MAX_TEXT}'
    return None


def foreign_backend(d, offered):
    """Why a route names a backend, or a target, the request did not offer, or None."""
    if d.get('kind') != 'route' or not isinstance(d.get('backends'), list):
        return None
    by_name = {b['name']: b for b in offered}
    for b in d['backends']:
        if not isinstance(b, str) or b not in by_name:
            return f"the request has no backend named '{str(b)[:100]}'"
    if len(d['backends']) > len(offered):
        return f"the route names {len(d['backends'])} backends, the request offered {len(offered)}"
    t = d.get('target')
    if not isinstance(t, str) or t in d['backends']:
        return None
    labels = by_name[d['backends'][0]]['labels'] if d['backends'] else {}
    longest = 2 + sum(len(k) + len(v) + 3 for k, v in labels.items())
    if t.startswith('{') and t.endswith('}') and len(t) <= longest:
        return None
    return f"the request has no backend named '{t[:100]}'"


def _headers_ok(h, removals):
    if not is_object(h):
        return False
    for k, v in h.items():
        if name_problem(k) is not None:
            return False
        if removals and v is None:
            continue
        if value_problem(v) is not None:
            return False
    return True


def _status_ok(s, low):
    return is_whole(s) and low <= s <= 599


def well_formed(d):
    """Whether a worker's decision has the shape the API gives it and keeps the edit rules."""
    if not is_object(d) or not _headers_ok(d.get('headerEdits'), True):
        return False
    if 'path' in d and path_problem(d['path']) is not None:
        return False
    if 'query' in d and query_problem(d['query']) is not None:
        return False
    kind = d.get('kind')
    if kind == 'continue':
        return True
    if kind == 'route':
        b = d.get('backends')
        return isinstance(d.get('target'), str) and isinstance(b, list) and len(b) > 0 and all(isinstance(x, str) for x in b)
    if kind == 'respond':
        return _status_ok(d.get('status'), 200) and isinstance(d.get('body'), str) and _headers_ok(d.get('headers'), False)
    if kind == 'reject':
        return _status_ok(d.get('status'), 400) and isinstance(d.get('reason'), str)
    return False


def answer(d, on_response):
    """The answer of POST /v1/decide for a checked decision."""
    out = {'version': VERSION, 'decision': d['kind']}
    kind = d['kind']
    if kind == 'route':
        out.update(target=d['target'], backends=d['backends'])
    elif kind == 'respond':
        out.update(status=d['status'], body=d['body'], headers=d['headers'])
    elif kind == 'reject':
        out.update(status=d['status'], reason=d['reason'])
    edits = {}
    if d['headerEdits']:
        edits['headers'] = d['headerEdits']  # None (null) removes
    if isinstance(d.get('path'), str):
        edits['path'] = d['path']
    if isinstance(d.get('query'), str):
        edits['query'] = d['query']
    if edits:
        out['edits'] = edits
    if on_response:
        out['on_response'] = True  # the gateway will call POST /v1/respond
    return out


def compat_answer(d, offered):
    """The original engine's answer: {selected_backend, modified_headers, modified_path, reject, reject_reason}."""
    out = {}
    kind = d['kind']
    if kind == 'route':
        candidates = [b for b in offered if b['name'] in d['backends']]
        healthy = [b for b in candidates if b['healthy']]
        out['selected_backend'] = (healthy or candidates or [{'name': d['backends'][0]}])[0]['name']
    if kind in ('reject', 'respond'):
        out.update(reject=True, reject_reason=d['reason'] if kind == 'reject' else d['body'])
    if d['headerEdits']:  # removals cannot be expressed
        out['modified_headers'] = {k: v for k, v in d['headerEdits'].items() if v is not None}
    if isinstance(d.get('path'), str):
        out['modified_path'] = d['path']
    return out


def cut(text):
    if len(text) <= MAX_ERROR:
        return text
    return f'{text[:MAX_ERROR]}... ({len(text)} characters in all)'


def error_answer(message, limit):
    return {'version': VERSION, 'decision': 'error', 'error': cut(message), 'limit': bool(limit)}
