"""The response phase, POST /v1/respond (docs/engine-protocol.md), in the main process: the
backend's response head as a script's on_response sees it, and the answer made of what it
changed. Messages and rules of engine/ResponsePhase.java and script/ResponseEdits.java."""

from .fields import BadRequest, is_object, is_whole
from .rules import name_problem, value_problem, headers_problem

VERSION = 1


def carries_body(status):
    """Statuses whose responses carry a body: one can stand in for another without breaking framing."""
    return is_whole(status) and 200 <= status <= 599 and status not in (204, 304)


def head(body):
    """`response` of a respond request: {status, backend, headers}. As in Java, `backend` and
    `headers` may be left out, but not null."""
    r = body.get('response')
    if not is_object(r):
        raise BadRequest('response: required, an object')
    status = r.get('status')
    if not is_whole(status) or status < 100 or status > 599:
        raise BadRequest('response.status: required, a status between 100 and 599')
    backend = r['backend'] if 'backend' in r else ''
    if not isinstance(backend, str):
        raise BadRequest('response.backend: a string')
    pairs = r['headers'] if 'headers' in r else []
    if not isinstance(pairs, list):
        raise BadRequest('response.headers: a list of [name, value]')
    headers = []
    for h in pairs:
        if not isinstance(h, list) or len(h) != 2 or not isinstance(h[0], str) or not isinstance(h[1], str):
            raise BadRequest('response.headers: each header is [name, value], two strings')
        headers.append([h[0], h[1]])
    return {'status': status, 'backend': backend, 'headers': headers}


def well_formed(e, original):
    """Whether a worker's response edits {status, headers} keep the rules."""
    if not is_object(e) or not is_whole(e.get('status')) or not is_object(e.get('headers')):
        return False
    if e['status'] != original and (not carries_body(original) or not carries_body(e['status'])):
        return False
    count = 0
    size = 0
    for k, v in e['headers'].items():
        count += 1
        size += len(k) + (len(v) if isinstance(v, str) else 0)
        if headers_problem(count, size) is not None:
            return False
        if name_problem(k) is not None or (v is not None and value_problem(v) is not None):
            return False
    return True


def answer(e):
    return {'version': VERSION, 'status': e['status'], 'headers': e['headers']}


def unchanged(h):
    """The answer for a script without on_response: the status as it was, no edits."""
    return {'version': VERSION, 'status': h['status']}
