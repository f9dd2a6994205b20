"""The fields of a decide request, checked with the messages of engine/EngineProtocol.java (and of
the Node.js engine's lib/fields.js): a BadRequest names the field, the server answers 400 with it.
Also the backends list, which the original /route format shares.

JSON types in Python: an object is a dict, a list a list; `true` is a bool, which Python counts
as an int, so every whole-number check excludes bools explicitly."""

import re


class BadRequest(Exception):
    """A malformed exchange: 400 {"error": message}."""


def is_object(v):
    return isinstance(v, dict)


def is_whole(v):
    """A JSON whole number (not a bool, not 2.0: Java refuses a float where it wants an int)."""
    return isinstance(v, int) and not isinstance(v, bool)


def required(o, key):
    v = o.get(key)
    if not isinstance(v, str) or v == '':
        raise BadRequest(f'{key}: required, a non-empty string')
    return v


def optional(o, key):
    """An optional string field: absent or null, else a string (EngineProtocol.optional)."""
    v = o.get(key)
    if v is None:
        return None
    if not isinstance(v, str):
        raise BadRequest(f'{key}: a string')
    return v


def loose(o, key):
    """A field of the original /route format: numbers and booleans as their text (Vert.x's getString)."""
    v = o.get(key)
    if v is None:
        return None
    if isinstance(v, str):
        return v
    if isinstance(v, bool):
        return 'true' if v else 'false'
    if isinstance(v, (int, float)):
        return js_number(v)
    raise BadRequest(f'{key}: a string')


def js_number(v):
    """A number as JavaScript's String(v) writes it (2.0 is "2"), for texts both engines share."""
    if isinstance(v, float) and v.is_integer() and abs(v) < 1e21:
        return str(int(v))
    return str(v) if isinstance(v, int) else repr(v)


def list_of(o, key):
    v = o.get(key)
    if v is None:
        return []
    if not isinstance(v, list):
        raise BadRequest(f'{key}: a list')
    return v


# What java.net.URI refuses, so that every engine refuses the same URLs: characters that may not
# appear anywhere, a bad %-escape, and for scheme://authority/... an empty authority, an
# unclosed IPv6 bracket or a port that is not a number.
_URL_ILLEGAL = re.compile(r'[\x00-\x20\x7f"<>\\^`{|}]|%(?![0-9A-Fa-f]{2})')
_AUTHORITY = re.compile(r'[A-Za-z][A-Za-z0-9+.-]*://([^/?#]*)')
_HOST_PORT = re.compile(r'([^@]*@)?(\[[0-9A-Fa-f:.]+\]|[^\[\]:]*)(:\d*)?')

MAX_INT = 2 ** 31 - 1  # a Java int


def check_url(name, url):
    bad = _URL_ILLEGAL.search(url)
    if bad:
        raise BadRequest(f'backends: {name}: Illegal character at index {bad.start()}: {url}')
    authority = _AUTHORITY.match(url)
    if authority and (authority.group(1) == '' or not _HOST_PORT.fullmatch(authority.group(1))):
        raise BadRequest(f'backends: {name}: not a URL (host or port): {url}')


def backends(raw):
    """The backends of a request: [{name, url, healthy, weight, labels}], in order, checked as Java does."""
    out = []
    for b in raw:
        if not is_object(b):
            raise BadRequest('backends: each backend is an object')
        raw_labels = b.get('labels')
        if raw_labels is None:
            raw_labels = {}
        if not is_object(raw_labels):
            raise BadRequest('backends: labels: an object of strings')
        labels = {}
        for k, v in raw_labels.items():
            if not isinstance(v, str):
                raise BadRequest(f'backends: labels.{k}: a string')
            labels[k] = v
        weight = b['weight'] if 'weight' in b else 1  # a null weight is not a default
        if not is_whole(weight) or weight < 1 or weight > MAX_INT:
            raise BadRequest('backends: weight: a whole number of at least 1')
        name = required(b, 'name')
        url = optional(b, 'url')
        url = 'http://127.0.0.1:1' if url is None else url
        healthy = b.get('healthy')
        if healthy is not None and not isinstance(healthy, bool):
            raise BadRequest('backends: healthy: true or false')
        # The original format's "health" was a check path or a status: only false or "unhealthy" mean down.
        if healthy is None:
            healthy = b.get('health') is not False and b.get('health') != 'unhealthy'
        check_url(name, url)
        out.append({'name': name, 'url': url, 'healthy': healthy, 'weight': weight, 'labels': labels})
    return out
