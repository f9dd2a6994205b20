"""Strict base64 (RFC 4648, basic alphabet) as java.util.Base64.getDecoder() decodes it, so that
every engine accepts and refuses the same request.body_base64: no whitespace or other characters,
padding optional but correct when present, nothing after it. (Python's b64decode would skip
characters it does not know unless validate=True, and it wants the padding.)"""

import binascii
import re

_VALID = re.compile(r'(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}(?:==)?|[A-Za-z0-9+/]{3}=?)?')
_ALPHABET = re.compile(r'[A-Za-z0-9+/]')


def decode(text):
    """The bytes of `text`; raises ValueError with java.util.Base64's message when not base64."""
    if _VALID.fullmatch(text):
        padded = text + '=' * (-len(text) % 4)
        return binascii.a2b_base64(padded.encode('ascii'))
    for i, c in enumerate(text):
        if c == '=':
            raise ValueError('Input byte array has wrong 4-byte ending unit')
        if not _ALPHABET.fullmatch(c):
            b = ord(c) if ord(c) < 256 else ord('?')
            signed = b - 256 if b > 127 else b
            raise ValueError(f'Illegal base64 character {signed & 0xffffffff:x}' if signed < 0
                             else f'Illegal base64 character {signed:x}')
    if len(text) % 4 == 1:
        raise ValueError('Last unit does not have enough valid bits')
    raise ValueError('Input byte array has incorrect ending byte')
