"""What a script's log(...) writes into the engine's log, as Helpers.shortText in Java.

At most MAX_LOG characters (a longer text is cut and marked "..."), control characters escaped
(\\n, \\r, \\t, \\xHH; C1 controls and U+2028/U+2029 as \\uHHHH), so a script cannot forge a log
line; with `quote` (the inside of a quoted field, log="..."), " and \\ escaped too, so a script's
text cannot end the field and add fields of its own (request_id=, tenant=).
"""

import re

MAX_LOG = 2000

_SPECIAL = re.compile(r'[\x00-\x1f\x7f-\x9f\u2028\u2029]')
_SPECIAL_QUOTED = re.compile(r'[\x00-\x1f\x7f-\x9f\u2028\u2029"\\]')
_NAMED = {'\n': '\\n', '\r': '\\r', '\t': '\\t', '"': '\\"', '\\': '\\\\'}


def _escape(m):
    c = m.group()
    if c in _NAMED:
        return _NAMED[c]
    o = ord(c)
    if o < 0x20 or o == 0x7f:
        return f'\\x{o:02x}'
    return f'\\u{o:04x}'


def short_text(text, max_len=MAX_LOG, quote=False):
    """The text escaped, cut after max_len characters of output (then marked '...')."""
    head = text[:max_len]
    out = (_SPECIAL_QUOTED if quote else _SPECIAL).sub(_escape, head)
    if len(out) > max_len:
        # Escapes made it longer: cut at max_len characters of output, never inside an escape.
        kept, size = [], 0
        for c in head:
            e = (_SPECIAL_QUOTED if quote else _SPECIAL).sub(_escape, c)
            if size >= max_len:
                break
            kept.append(e)
            size += len(e)
        consumed = len(kept)
        return ''.join(kept) + ('...' if consumed < len(text) else '')
    return out + ('...' if len(text) > max_len else '')


def field(text):
    """An unquoted log field (a tenant's name, a request id: what a client may have chosen)."""
    return short_text(str(text), 200).replace(' ', '\\x20')
