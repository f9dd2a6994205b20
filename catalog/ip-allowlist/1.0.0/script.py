# IP allow-list (catalog entry ip-allowlist): the client's address (IPv4, IPv6, or IPv4 mapped
# into IPv6) must be in one of ALLOW's networks; anything else, an unreadable address included,
# gets STATUS. A malformed network in ALLOW is a script error (the tenant's on_script_error,
# fail_closed by default), never a silently wider or narrower list.
# Digits and hex digits are ASCII only (int() would also take '٣', '_' or spaces).
DIGITS = frozenset('0123456789')
HEX = frozenset('0123456789abcdefABCDEF')


def digits(s):
    return s != '' and all(c in DIGITS for c in s)


def whole(s):
    """The number a string of digits writes (leading zeros allowed); a long one is too big anyway."""
    t = s.lstrip('0') or '0'
    return int(t) if len(t) <= 9 else float('inf')


def dotted(s):
    """Four groups of digits joined by dots (the Lua version's %d+%.%d+%.%d+%.%d+)."""
    parts = s.split('.')
    return len(parts) == 4 and all(digits(x) for x in parts)


# An address as a list of bytes (4 or 16), or None.
def v4(s):
    if not dotted(s):
        return None
    out = [whole(x) for x in s.split('.')]
    if any(b > 255 for b in out):
        return None
    return out


def groups(part, out):
    if part == '':
        return True
    for g in part.split(':'):
        if not (1 <= len(g) <= 4 and all(c in HEX for c in g)):
            return False
        out.append(int(g, 16))
    return True


def v6(s):
    at = s.find('::')
    gs = []
    if at >= 0:
        h, t = [], []
        if not groups(s[:at], h) or not groups(s[at + 2:], t) or len(h) + len(t) > 7:
            return None
        gs = h + [0] * (8 - len(h) - len(t)) + t
    elif not groups(s, gs) or len(gs) != 8:
        return None
    out = []
    for g in gs:
        out.append(g // 256)
        out.append(g % 256)
    return out


def address(s):
    if s is None:
        return None
    low = s.lower()
    mapped = low[7:] if low.startswith('::ffff:') and dotted(low[7:]) else None
    return v4(s if mapped is None else mapped) or v6(s)


def network(text):
    slash = text.find('/')
    split = slash > 0 and digits(text[slash + 1:])
    addr = address(text[:slash] if split else text)
    if addr is None:
        raise Exception('ip-allowlist: not an address: ' + text)
    bits = whole(text[slash + 1:]) if split else len(addr) * 8
    if bits > len(addr) * 8:
        raise Exception('ip-allowlist: prefix longer than the address: ' + text)
    return addr, bits


def contains(net, addr):
    net_bytes, bits = net
    if len(addr) != len(net_bytes):
        return False
    for i in range(len(addr)):
        if bits <= 0:
            return True
        if bits >= 8:
            if addr[i] != net_bytes[i]:
                return False
        else:
            scale = 2 ** (8 - bits)
            return addr[i] // scale == net_bytes[i] // scale
        bits -= 8
    return True


# Every network is read for every request (a script keeps nothing between requests but kv):
# hence at most 200 of them.
def on_request(req):
    p = req.params
    addr = address(req.client_ip)
    for text in p['allow']:
        net = network(text)
        if addr is not None and contains(net, addr):
            return
    return reject(p['status'], 'client address not allowed')
