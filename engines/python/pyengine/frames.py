"""Length-prefixed JSON frames over a pipe, between the main process and a worker: a 4-byte
big-endian length, then that many bytes of JSON (ASCII: every non-ASCII character and lone
surrogate escaped, so any string crosses; a data file's text, which has no lone surrogate, as
UTF-8: encode_text). Both sides bound what they accept.

A worker runs untrusted code and can write anything on its pipe, so the main process takes from
it only what a message of the protocol can be: a JSON object whose first member is its "op"
(`{"op":"kv",...`, as json.dumps writes what the API sends), of at most the size that message can
need (MESSAGES: a log line is at most 2,001 characters, a kv value 64 Ki characters, a decision's
body 1 Mi characters, each character at most 12 bytes escaped), with at most as many JSON values
as it can need, ASCII only. The size and the op are checked on the frame's first bytes, before the
rest is read; the values are counted before anything is parsed, by a scan that looks at each
character a bounded number of times, whatever the frame (attack s17py F1: a regular expression
run from every quote of an unterminated string to its end was quadratic, and 60 KB of escaped
quotes took the main process 9 s; F2: 16 MiB of "1.0," in a log line were parsed into 4 million
floats, 200 MB and 350 ms of the main process, before any limit applied)."""

import json
import os
import re
import struct
from json.decoder import scanstring

MAX_TO_WORKER = 64 * 1024 * 1024  # a request with an 8 MiB body, the script's source
MAX_FROM_WORKER = 16 * 1024 * 1024  # a decision with a 1 MiB body of escapes, headers

# What the API lets a script put into a message (the main process checks them again: kv.py,
# protocol.py); the frames' limits below follow from them, a character taking at most 12 bytes in
# a frame (an astral character is two \uXXXX escapes).
KV_KEY_CHARS = 256
KV_VALUE_CHARS = 64 * 1024
LOG_CHARS = 2001  # a line of 2,000 characters (worker/helpers.py), or one more to say the line was cut
ERROR_CHARS = 8192  # a failure's message (loop.describe), a compile error

# Tokens of a frame: the strings and the ',' ':' '[' '{' outside strings. Every JSON value the
# parser makes, keys included, is the frame itself or follows one of those four, so the tokens
# bound the values (and the work and memory of parsing them) whatever the frame holds.
SMALL_TOKENS = 64  # a kv request (`{"op":"kv","fn":"set","args":["k","v",0]}` has 16), a log line, ...
# A decision: its fields, up to 100 header edits (and a respond's headers, counted with them), a
# path and a query; a route also names backends, two tokens each (allow_backends: the call's).
DONE_TOKENS = 4096
MAX_CONTAINERS = 1024  # objects and lists (counted with the tokens): the parser's recursion stays far from its limit

# Each message a worker may send: (bytes of its frame at most, tokens at most).
MESSAGES = {
    'ready': (256, 16),  # {"op":"ready","seccomp":true}
    'log': (32 * 1024, SMALL_TOKENS),  # LOG_CHARS escaped: 24,012 bytes
    'data': (4096, SMALL_TOKENS),  # a data file's name: at most 255 characters
    # a key and a value escaped (789,504 bytes), numbers: an int has at most 4,300 digits
    'kv': (1024 * 1024, SMALL_TOKENS),
    'compiled': (128 * 1024, SMALL_TOKENS),  # ERROR_CHARS escaped: 98,304 bytes
    'done': (MAX_FROM_WORKER, DONE_TOKENS),  # a body of 1 Mi characters escaped: 12 MiB; 64 Ki characters of header edits: 768 KiB
}

_HEAD = re.compile(rb'\{"op":"([a-z]{1,16})"[,}]')
_OPENING = b'{"op":"'
_OP_SO_FAR = re.compile(rb'[a-z]{0,16}"?')
HEAD_BYTES = len(_OPENING) + 16 + 2
CHUNK = 1 << 16  # characters outside strings counted at a time (a limit passed is seen within one)
SMALL_FRAME = 4096

# The scan's primitives, each C code linear in the characters it is given (a test counts them).
_find = str.find
_count = str.count
_scanstring = scanstring  # the json module's: a string's end (and its text), or ValueError


class FrameError(Exception):
    """A frame that breaks the format: the other side is gone or misbehaves. `limit`: it is too
    big (a limit), rather than malformed."""

    def __init__(self, message, limit=False):
        super().__init__(message)
        self.limit = limit


def encode(obj):
    data = json.dumps(obj, separators=(',', ':'), ensure_ascii=True).encode('ascii')
    return struct.pack('>I', len(data)) + data


def encode_text(obj):
    """A frame of `obj` whose strings are UTF-8 text (no lone surrogates), not escaped: a data
    file's answer, at most twice the file (quotes, backslashes, tabs and line ends escaped)."""
    data = json.dumps(obj, separators=(',', ':'), ensure_ascii=False).encode('utf-8')
    return struct.pack('>I', len(data)) + data


class Channel:
    """The worker's end: blocking reads and writes on two pipe file descriptors."""

    def __init__(self, rfd, wfd, max_in=MAX_TO_WORKER):
        self.rfd = rfd
        self.wfd = wfd
        self.max_in = max_in

    def send(self, obj):
        data = memoryview(encode(obj))
        while data:
            n = os.write(self.wfd, data)
            data = data[n:]

    def _read(self, n):
        parts = []
        while n > 0:
            chunk = os.read(self.rfd, min(n, 1 << 20))
            if not chunk:
                raise EOFError('the main process closed the pipe')
            parts.append(chunk)
            n -= len(chunk)
        return b''.join(parts)

    def recv(self):
        (n,) = struct.unpack('>I', self._read(4))
        if n > self.max_in:
            raise FrameError(f'a frame of {n} bytes')
        return json.loads(self._read(n))


def _too_many(tokens, most):
    return FrameError(f'{tokens} JSON values or more in a frame, above the limit of {most}', True)


def tokens(text, most):
    """The tokens of the JSON text `text` (a frame's, ASCII): its strings and the ',' ':' '[' '{'
    outside them. Raises FrameError past `most` tokens or MAX_CONTAINERS objects and lists, or at
    an unterminated string. Linear in the text, whatever it holds: each character is looked at by
    str.find, str.count (four times) or the json module's scanstring, in C, once; the loop runs once
    per string (at most `most` times) and once per CHUNK characters outside strings."""
    n = len(text)
    if n <= SMALL_FRAME:  # a small frame: what is inside strings counted too, at most 5 x 4 KiB looked at
        containers = _count(text, '[') + _count(text, '{')
        upper = containers + _count(text, ',') + _count(text, ':') + _count(text, '"')
        if upper <= most and containers <= MAX_CONTAINERS:
            return upper
    count = containers = 0
    i = 0
    while True:
        j = _find(text, '"', i)
        end = n if j < 0 else j
        while i < end:  # the text before the next string, a chunk at a time
            k = min(end, i + CHUNK)
            c = _count(text, '[', i, k) + _count(text, '{', i, k)
            containers += c
            count += c + _count(text, ',', i, k) + _count(text, ':', i, k)
            if count > most:
                raise _too_many(count, most)
            if containers > MAX_CONTAINERS:
                raise FrameError(f'{containers} JSON objects or lists in a frame, above the limit of {MAX_CONTAINERS}', True)
            i = k
        if j < 0:
            return count
        count += 1
        if count > most:
            raise _too_many(count, most)
        try:
            i = _scanstring(text, j + 1, True)[1]
        except ValueError as e:  # unterminated, a bad escape, a control character
            raise FrameError(f'a frame that is not JSON: {e}') from None


def _could_begin(start):
    """Whether `start` may be the first bytes of a message's head, the rest of it still to come."""
    if len(start) <= len(_OPENING):
        return _OPENING.startswith(start)
    return start.startswith(_OPENING) and _OP_SO_FAR.fullmatch(start, len(_OPENING)) is not None


class FrameReader:
    """The main process's end of a worker's output: bytes in (as they arrive: push), messages out
    (next), each checked as the module says. `allow_backends(n)`: a decision may name n backends
    (those the running call offered)."""

    def __init__(self, max_size=MAX_FROM_WORKER):
        self.max_size = max_size
        self.buf = bytearray()
        self.head = None  # (size, op) of the frame at the front of buf, once its first bytes passed
        self.done_tokens = DONE_TOKENS
        self.tokens = 0  # of the frames read since start_call (the engine charges its work for them)

    def allow_backends(self, n):
        self.done_tokens = DONE_TOKENS + 2 * n

    def start_call(self, backends):
        """A call starts: its decision may name `backends` backends; the tokens are counted afresh."""
        self.allow_backends(backends)
        self.tokens = 0

    def push(self, data):
        """Takes bytes read; raises FrameError as soon as a frame's first bytes show it is none of the
        messages, or bigger than its message can be."""
        self.buf += data
        self._check_head()

    def _check_head(self):
        if self.head is not None or len(self.buf) < 4:
            return
        (n,) = struct.unpack_from('>I', self.buf)
        if n > self.max_size:
            raise FrameError(f'a frame of {n} bytes, above the limit of {self.max_size}', True)
        have = min(len(self.buf) - 4, n, HEAD_BYTES)
        m = _HEAD.match(self.buf, 4, 4 + have)
        if m is None:
            start = bytes(self.buf[4:4 + have])
            if have == min(n, HEAD_BYTES) or not _could_begin(start):
                raise FrameError(f'a frame that is not a message of the protocol ({start[:24]!r}...)')
            return  # its first bytes are still to come
        op = m.group(1).decode('ascii')
        limits = MESSAGES.get(op)
        if limits is None:
            raise FrameError(f'a frame that is not a message of the protocol (op {op!r})')
        if n > limits[0]:
            raise FrameError(f'a frame of {n} bytes for a {op} message, above the limit of {limits[0]}', True)
        self.head = (n, op)

    def next(self):
        """The next whole message as (message, bytes of its frame), None until more bytes arrive;
        raises FrameError for a frame that breaks the rules."""
        self._check_head()
        if self.head is None:
            return None
        n, op = self.head
        if len(self.buf) < 4 + n:
            return None
        view = memoryview(self.buf)
        try:
            text = str(view[4:4 + n], 'ascii')
        except UnicodeDecodeError:
            raise FrameError('a frame that is not ASCII') from None
        finally:
            view.release()
        del self.buf[:4 + n]
        if not self.buf:
            self.buf = bytearray()  # (its memory goes: a decision's frame may have been 16 MiB)
        self.head = None
        self.tokens += tokens(text, self.done_tokens if op == 'done' else MESSAGES[op][1])
        try:
            msg = json.loads(text)
        except RecursionError:
            # (nested past the C parser's recursion: it raised out of the reader, once a frame: s16py F2)
            raise FrameError('a frame nested too deeply') from None
        except ValueError as e:
            raise FrameError(f'a frame that is not JSON: {e}') from None
        if not isinstance(msg, dict) or msg.get('op') != op:
            raise FrameError(f'a frame that names another op than its first one ({op!r})')
        return msg, 4 + n

    def feed(self, data):
        """The messages completed by `data`; raises FrameError for a frame that breaks the rules."""
        self.push(data)
        out = []
        while True:
            got = self.next()
            if got is None:
                return out
            out.append(got[0])
