"""A small HTTP/1.1 server on asyncio streams, for the engine's JSON endpoints: keep-alive,
Content-Length and chunked request bodies, Expect: 100-continue, every answer JSON.

Built for clients that may be hostile (only the gateway should reach an engine, but a socket is a
socket): a request head is at most MAX_HEAD bytes and 100 header lines and must arrive within
HEAD_TIMEOUT once it started; a connection idle for IDLE_TIMEOUT is closed; a body is at most
`max_body` (413 past it, with Content-Length at once, chunked once it passes it; the rest is read
and dropped, up to twice the limit, so the client reads the answer rather than a reset) and must
arrive within BODY_TIMEOUT; an answer the client does not read within WRITE_TIMEOUT closes the
connection; at most MAX_CONNECTIONS at once, and MAX_READING bytes of bodies being read at once
(past it, 503: thousands of connections each sending 8 MiB slowly would take the memory)."""

import asyncio
import json
import re

MAX_HEAD = 64 * 1024
MAX_HEADER_LINES = 100
IDLE_TIMEOUT = 30
HEAD_TIMEOUT = 10
BODY_TIMEOUT = 60
WRITE_TIMEOUT = 30
MAX_CONNECTIONS = 4096
MAX_READING = 256 * 1024 * 1024  # bodies being read at once, all connections together

REASONS = {100: 'Continue', 200: 'OK', 400: 'Bad Request', 404: 'Not Found', 405: 'Method Not Allowed',
           408: 'Request Timeout', 411: 'Length Required', 413: 'Content Too Large', 422: 'Unprocessable Content',
           431: 'Request Header Fields Too Large', 500: 'Internal Server Error', 501: 'Not Implemented',
           503: 'Service Unavailable'}
_REQUEST_LINE = re.compile(rb'([A-Z]{1,20}) (\S{1,8192}) HTTP/1\.([01])')
_HEADER = re.compile(rb'([!#$%&\'*+\-.^_`|~0-9A-Za-z]+):[ \t]*(.*?)[ \t]*')


class Request:
    def __init__(self, method, target, headers, version):
        self.method = method
        self.target = target
        self.headers = headers  # lower-case name -> value (the last of a repeated header)
        self.version = version
        self.body = b''


class HttpError(Exception):
    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


def answer_bytes(status, obj, close=False):
    body = json.dumps(obj, ensure_ascii=True, separators=(',', ':')).encode('ascii')
    head = (f'HTTP/1.1 {status} {REASONS.get(status, "Error")}\r\nContent-Type: application/json\r\n'
            f'Content-Length: {len(body)}\r\n' + ('Connection: close\r\n' if close else '') + '\r\n')
    return head.encode('ascii') + body


class Server:
    """Calls `handle(request)` -> (status, obj) for each request; `max_body` bounds bodies."""

    def __init__(self, handle, max_body, log):
        self.handle = handle
        self.max_body = max_body
        self.log = log
        self.connections = {}  # writer -> {'busy': whether it is reading or answering a request}
        self.stopping = False
        self.reading = 0  # bytes of bodies being read (reserved by Content-Length, or chunk by chunk)

    async def serve(self, reader, writer):
        state = {'busy': False}
        if len(self.connections) >= MAX_CONNECTIONS or self.stopping:
            writer.close()
            return
        self.connections[writer] = state
        try:
            while not self.stopping:
                if not await self._one(reader, writer, state):
                    break
        except (asyncio.IncompleteReadError, asyncio.TimeoutError, ConnectionError, asyncio.LimitOverrunError):
            pass
        except Exception as e:  # never let one connection's failure go unnoticed, nor take the server down
            self.log(f'WARNING engine connection failed: {e!r}')
        finally:
            self.connections.pop(writer, None)
            writer.close()

    async def _one(self, reader, writer, state):
        """Reads and answers one request; whether the connection stays open."""
        first = await asyncio.wait_for(reader.read(1), IDLE_TIMEOUT)
        if not first:
            return False
        state['busy'] = True
        try:
            try:
                head = first + await asyncio.wait_for(reader.readuntil(b'\r\n\r\n'), HEAD_TIMEOUT)
            except asyncio.LimitOverrunError:
                await self._send(writer, 431, {'error': f'request head above {MAX_HEAD} bytes'}, True)
                return False
            try:
                req = self._parse_head(head)
            except HttpError as e:
                await self._send(writer, e.status, {'error': str(e)}, True)
                return False
            keep = self._keep_alive(req)
            state['reserved'] = 0
            try:
                status, body = await self._read_body(req, reader, writer, state)
            finally:
                self.reading -= state['reserved']
            if status is not None:
                await self._send(writer, status, body, True)
                return False
            try:
                status, obj = await self.handle(req)
            except Exception as e:
                self.log(f'WARNING engine failed on {req.method} {req.target}: {e!r}')
                status, obj = 500, {'error': f'engine failure: {e}'}
            close = not keep or self.stopping
            await self._send(writer, status, obj, close)
            return not close
        finally:
            state['busy'] = False

    @staticmethod
    def _parse_head(head):
        lines = head[:-4].split(b'\r\n')
        m = _REQUEST_LINE.fullmatch(lines[0])
        if not m:
            raise HttpError(400, 'not an HTTP/1.x request line')
        if len(lines) - 1 > MAX_HEADER_LINES:
            raise HttpError(431, f'more than {MAX_HEADER_LINES} header lines')
        headers = {}
        for line in lines[1:]:
            h = _HEADER.fullmatch(line)
            if not h:
                raise HttpError(400, 'a malformed header line')
            headers[h.group(1).decode('ascii').lower()] = h.group(2).decode('latin-1')
        return Request(m.group(1).decode('ascii'), m.group(2).decode('latin-1'), headers, int(m.group(3)))

    @staticmethod
    def _keep_alive(req):
        conn = req.headers.get('connection', '').lower()
        return 'close' not in conn if req.version == 1 else 'keep-alive' in conn

    def _reserve(self, state, size):
        """Whether `size` more bytes of body may be read now."""
        if self.reading + size > MAX_READING:
            return False
        self.reading += size
        state['reserved'] += size
        return True

    async def _read_body(self, req, reader, writer, state):
        """Reads the body into req.body: (None, None), or (status, error) to answer and close."""
        te = req.headers.get('transfer-encoding')
        cl = req.headers.get('content-length')
        if te is not None and cl is not None:
            return 400, {'error': 'both Transfer-Encoding and Content-Length'}
        if te is not None and te.lower() != 'chunked':
            return 501, {'error': f'Transfer-Encoding {te[:50]} is not supported'}
        if cl is not None and not cl.isdigit():
            return 400, {'error': 'Content-Length is not a number'}
        size = int(cl) if cl is not None else 0
        if size > self.max_body:
            await self._too_large(writer)
            await self._drain(reader, size)
            return 413, None
        if not self._reserve(state, size):
            return 503, {'error': 'the engine is reading too many request bodies at once'}
        if req.headers.get('expect', '').lower() == '100-continue' and (te is not None or size > 0):
            writer.write(b'HTTP/1.1 100 Continue\r\n\r\n')
        if te is None:
            req.body = await asyncio.wait_for(reader.readexactly(size), BODY_TIMEOUT) if size else b''
            return None, None
        return await asyncio.wait_for(self._chunked(req, reader, writer, state), BODY_TIMEOUT)

    async def _chunked(self, req, reader, writer, state):
        parts, total, over = [], 0, False
        while True:
            line = await reader.readuntil(b'\r\n')
            try:
                n = int(line.split(b';', 1)[0].strip(), 16)
            except ValueError:
                n = -1
            if n < 0:
                return 400, {'error': 'a malformed chunk size'}
            if n == 0:
                break
            total += n
            if total > 2 * self.max_body:
                break  # drained enough: answer and close
            if not over and total <= self.max_body and not self._reserve(state, n):
                return 503, {'error': 'the engine is reading too many request bodies at once'}
            data = await reader.readexactly(n + 2)
            if not over and total > self.max_body:
                over = True
                parts = []
                await self._too_large(writer)
            if not over:
                parts.append(data[:-2])
        if over or total > self.max_body:
            if not over:
                await self._too_large(writer)
            return 413, None
        for _ in range(MAX_HEADER_LINES):  # trailers, up to the empty line
            if await reader.readuntil(b'\r\n') == b'\r\n':
                break
        req.body = b''.join(parts)
        return None, None

    async def _too_large(self, writer):
        writer.write(answer_bytes(413, {'error': f'request body above {self.max_body} bytes'}, True))
        await asyncio.wait_for(writer.drain(), WRITE_TIMEOUT)

    async def _drain(self, reader, size):
        """Reads and drops up to twice the limit of a refused body, so the client gets the answer."""
        left = min(size, 2 * self.max_body)
        try:
            while left > 0:
                chunk = await asyncio.wait_for(reader.read(min(left, 1 << 20)), 5)
                if not chunk:
                    return
                left -= len(chunk)
        except asyncio.TimeoutError:
            pass

    async def _send(self, writer, status, obj, close):
        if obj is None:  # already answered (413)
            return
        writer.write(answer_bytes(status, obj, close))
        await asyncio.wait_for(writer.drain(), WRITE_TIMEOUT)

    def close_idle(self):
        """At a stop: connections waiting for a request are closed now, busy ones after their answer."""
        self.stopping = True
        for writer, state in list(self.connections.items()):
            if not state['busy']:
                writer.close()
