"""What a script may put into a request or a response: header names and values, a path, a query.

The rules and messages of src/main/java/dev/keystone/script/EditRules.java (and of the Node.js
engine's lib/sandbox/rules.js). Each check returns None when the value is fine, else the problem.
Used twice: by the API inside a tenant's worker (an error at the script's line) and by the main
process, which checks every decision a worker hands back again (a worker runs untrusted code and
may send anything down its pipe).
"""

import re
import unicodedata

FRAMING = frozenset(['content-length', 'transfer-encoding', 'connection', 'keep-alive',
                     'proxy-connection', 'te', 'trailer', 'upgrade', 'expect'])

# The limits of EditRules.java: what real servers accept, and what a request keeps in flight.
MAX_NAME = 256
MAX_VALUE = 8192
MAX_HEADERS = 100
MAX_HEADER_BYTES = 64 * 1024
MAX_PATH = 8192
MAX_QUERY = 8192
TCHAR = "!#$%&'*+-.^_`|~"

_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_CONTROL = re.compile(r'[\x00-\x08\x0a-\x1f\x7f]')  # RFC 9110 field-value: no control but HTAB
# URI characters: printable ASCII but space and " < > \ ^ ` { | }; a path has no '?' or '#'.
_PATH_CHARS = re.compile(r'[!$-;=@-\[\]_a-z~]*')
_QUERY_CHARS = re.compile(r'[!$-;=?@-\[\]_a-z~]*')
_BAD_PERCENT = re.compile(r'%(?![0-9A-Fa-f]{2})')
_C0_C1 = re.compile(r'[\x00-\x1f\x7f-\x9f]')
_STOPS = (';', '?', '#')


def name_problem(n):
    if isinstance(n, str) and len(n) > MAX_NAME:
        return f'a header name of {len(n)} bytes is longer than {MAX_NAME}'
    if not isinstance(n, str) or not _TOKEN.fullmatch(n):
        shown = n[:100] if isinstance(n, str) else n
        return f"not a header name (a token of letters, digits and {TCHAR}): '{shown}'"
    if n.lower() in FRAMING:
        return f'header {n} is managed by the gateway (message framing or connection handling)'
    return None


def value_problem(v):
    if not isinstance(v, str):
        return 'a header value must be a string'
    if len(v) > MAX_VALUE:
        return f'a header value of {len(v)} bytes is longer than {MAX_VALUE}'
    bad = _CONTROL.search(v)
    if bad:
        return f'a header value must not contain control characters (found 0x{ord(bad.group()):x})'
    return None


def headers_problem(count, size):
    """Headers a script sets, together: at most MAX_HEADERS and MAX_HEADER_BYTES."""
    if count > MAX_HEADERS or size > MAX_HEADER_BYTES:
        return (f'a script may set at most {MAX_HEADERS} headers and {MAX_HEADER_BYTES >> 10} KiB '
                'of headers per request or response')
    return None


_HEX = '0123456789abcdefABCDEF'


def percent_decoded(s):
    """Each well-formed %XX as its byte, read as lax UTF-8 (overlong forms count), as rules.js."""
    if '%' not in s:
        return s
    data = bytearray()
    i = 0
    n = len(s)
    while i < n:
        c = s[i]
        if c == '%' and i + 2 < n and s[i + 1] in _HEX and s[i + 2] in _HEX:
            data.append(int(s[i + 1:i + 3], 16))
            i += 3
        elif ord(c) < 0x80:
            data.append(ord(c))
            i += 1
        else:
            data += b'\xef\xbf\xbd'
            i += 1
    out = []
    i = 0
    while i < len(data):
        lead = data[i]
        if lead < 0x80:
            k = 0
        elif lead < 0xc0:
            k = -1
        elif lead < 0xe0:
            k = 1
        elif lead < 0xf0:
            k = 2
        elif lead < 0xf8:
            k = 3
        elif lead < 0xfc:
            k = 4
        elif lead < 0xfe:
            k = 5
        else:
            k = -1
        cp = lead if k <= 0 else lead & (0x3f >> k)
        ok = k >= 0 and i + k < len(data)
        j = 1
        while ok and j <= k:
            if data[i + j] & 0xc0 != 0x80:
                ok = False
            else:
                cp = cp * 64 + (data[i + j] & 0x3f)
            j += 1
        if not ok or cp > 0x10ffff or 0xd800 <= cp <= 0xdfff:
            out.append('\ufffd')
            i += 1
        else:
            out.append(chr(cp))
            i += k + 1
    return ''.join(out)


def leaves_base(p):
    """Whether the path, as any backend may read it, holds a control character or a '.' or '..'
    segment (EditRules.leavesBase): read as sent and percent-decoded again and again, each reading
    in Unicode compatibility form (fullwidth dots count), '\\' as '/', a segment ending at ';',
    '?' or '#', trailing spaces dropped (as Windows does)."""
    current = p
    for round_ in range(5):
        current = unicodedata.normalize('NFKC', current)
        view = current.replace('\\', '/')
        if round_ > 0 and _C0_C1.search(view):
            return True
        for seg in view.split('/'):
            end = len(seg)
            for stop in _STOPS:
                at = seg.find(stop)
                if 0 <= at < end:
                    end = at
            seg = seg[:end].rstrip(' \t')
            if seg in ('.', '..'):
                return True
        nxt = percent_decoded(current)
        if nxt == current:
            return False
        current = nxt
    return True


def path_problem(p):
    """A path to forward: starts with '/', URI characters only, no '?' or '#', no dot segments."""
    if not isinstance(p, str) or not p.startswith('/'):
        shown = p[:100] if isinstance(p, str) else p
        return f"the path must start with '/', got '{shown}'"
    if len(p) > MAX_PATH:
        return f'a path of {len(p)} bytes is longer than {MAX_PATH}'
    if not _PATH_CHARS.fullmatch(p):
        return ("the path must hold only the characters of a URI, with no '?' or '#' (percent-encode "
                'spaces, non-ASCII and " < > \\ ^ ` { | }; set_query sets the query)')
    if _BAD_PERCENT.search(p):
        return "the path has a '%' not followed by two hex digits"
    if leaves_base(p):
        return ("the path must not contain '.' or '..' segments or control characters, plain or "
                '%-encoded in any way a backend may decode them: it would leave the service\'s base path')
    return None


def query_problem(q):
    """A query to forward (without '?'): URI characters only, no '#'."""
    if not isinstance(q, str):
        return 'the query must be a string'
    if len(q) > MAX_QUERY:
        return f'a query of {len(q)} bytes is longer than {MAX_QUERY}'
    if not _QUERY_CHARS.fullmatch(q):
        return ("the query must hold only the characters of a URI, with no '#' (percent-encode spaces, "
                f"non-ASCII and \" < > \\ ^ ` {{ | }}), got '{q[:100]}'")
    if _BAD_PERCENT.search(q):
        return "the query has a '%' not followed by two hex digits"
    return None
