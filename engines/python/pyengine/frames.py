"""Length-prefixed JSON frames over a pipe, between the main process and a worker: a 4-byte
big-endian length, then that many bytes of JSON (ASCII: every non-ASCII character and lone
surrogate escaped, so any string crosses; a data file's text, which has no lone surrogate, as
UTF-8: encode_text). Both sides bound what they accept."""

import json
import os
import re
import struct

MAX_TO_WORKER = 64 * 1024 * 1024  # a request with an 8 MiB body, the script's source
MAX_FROM_WORKER = 16 * 1024 * 1024  # a decision with a 1 MiB body of escapes, headers
# JSON objects and lists in one frame from a worker. What the API sends has a few (a decision's
# headers and edits, a list of backend names, a kv call's arguments); 16 MiB of "{}," is five
# million, whose parse took the main process's only thread for seconds and 400 MB (attack s16py
# F1). Counted with strings left out (their brackets are text), before anything is parsed.
MAX_CONTAINERS = 1024
# A JSON string, as a regex that runs in C without backtracking (the "unrolled loop").
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')


class FrameError(Exception):
    """A frame that breaks the format: the other side is gone or misbehaves."""


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


class FrameReader:
    """The main process's end of a worker's output: bytes in (as they arrive), messages out."""

    def __init__(self, max_size=MAX_FROM_WORKER):
        self.max_size = max_size
        self.buf = bytearray()

    def feed(self, data):
        """The messages completed by `data`; raises FrameError for a frame too big or not JSON."""
        self.buf += data
        out = []
        while len(self.buf) >= 4:
            (n,) = struct.unpack_from('>I', self.buf)
            if n > self.max_size:
                raise FrameError(f'the worker sent a frame of {n} bytes, above the limit of {self.max_size}')
            if len(self.buf) < 4 + n:
                break
            payload = bytes(self.buf[4:4 + n])
            del self.buf[:4 + n]
            bare = _STRING.sub(b'""', payload)
            containers = bare.count(b'{') + bare.count(b'[')
            if containers > MAX_CONTAINERS:
                raise FrameError(f'the worker sent a frame of {containers} JSON objects or lists, above the limit of '
                                 f'{MAX_CONTAINERS}')
            try:
                msg = json.loads(payload)
            except RecursionError:
                # (nested past the C parser's recursion: it raised out of the reader, once a frame: F2)
                raise FrameError('the worker sent a frame nested too deeply') from None
            except ValueError as e:
                raise FrameError(f'the worker sent a frame that is not JSON: {e}') from None
            if not isinstance(msg, dict):
                raise FrameError('the worker sent a frame that is not a JSON object')
            out.append(msg)
        return out
