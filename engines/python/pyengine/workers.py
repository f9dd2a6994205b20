"""Worker processes as the main process sees them: the zygote that forks them, one handle per
worker (its pipes, read and written without blocking on the event loop; its pidfd, to kill it;
its CPU time, read from /proc), and the pool of spare workers kept ready, so that a tenant whose
worker was killed, or a new tenant, gets one at once instead of waiting for a fork."""

import asyncio
import collections
import json
import os
import signal
import socket
import subprocess
import sys

from .frames import FrameReader, FrameError, encode

ZYGOTE = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'worker', 'zygote.py')
MAX_PENDING_OUT = 24 * 1024 * 1024  # what may wait to be written to a worker that does not read (a call, kv answers)
MAX_BYTES_IN = 32 * 1024 * 1024  # what a worker may send in one call, all its messages (a frame is at most 16 MiB)


class Zygote:
    """The zygote process (worker/zygote.py) and the forks asked of it, answered in order. Its first
    message says whether the --preload modules imported (`greeting`)."""

    def __init__(self, loop, memory_mb, cpu_seconds, log, preload=()):
        self.loop = loop
        self.memory_mb = memory_mb
        self.cpu_seconds = cpu_seconds
        self.log = log
        self.preload = tuple(preload)
        self.proc = None
        self.sock = None
        self.greeting = None  # a future of the zygote's first message: {"preloaded", "ms"} or {"error"}
        self.waiting = collections.deque()  # futures of forks asked, oldest first

    def _start(self):
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        # -I: no environment variables, user site or script directory; -B: no __pycache__ written
        # next to the engine's files; an empty environment;
        # a session of its own: a terminal's Ctrl-C reaches the main process only.
        self.proc = subprocess.Popen(
            [sys.executable, '-I', '-B', '-X', 'utf8', ZYGOTE, str(theirs.fileno()), str(self.memory_mb), str(self.cpu_seconds),
             ','.join(self.preload)],
            pass_fds=[theirs.fileno()], env={}, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            start_new_session=True)
        theirs.close()
        ours.setblocking(False)
        self.sock = ours
        self.greeting = self.loop.create_future()
        self.loop.add_reader(ours.fileno(), self._readable)

    async def start(self, timeout=60):
        """Starts the zygote now and waits for its greeting: {"preloaded": {name: version}, "ms"};
        raises RuntimeError naming what went wrong (a --preload module that did not import)."""
        if self.sock is None:
            self._start()
        try:
            status = await asyncio.wait_for(asyncio.shield(self.greeting), timeout)
        except asyncio.TimeoutError:
            raise RuntimeError(f'the zygote did not start within {timeout} s (importing --preload '
                               f'{",".join(self.preload) or "(none)"})') from None
        if 'error' in status:
            raise RuntimeError(status['error'])
        return status

    def fork(self, memory_mb=None):
        """A future of (pid, to_worker_fd, from_worker_fd, pidfd)."""
        if self.sock is None:
            self._start()
        f = self.loop.create_future()
        try:
            self.sock.send(b'F' + json.dumps({'memory_mb': memory_mb or self.memory_mb}).encode())
        except BlockingIOError:  # a zygote far behind: this fork fails, the zygote stays
            f.set_exception(RuntimeError('the zygote is busy'))
            return f
        except OSError as e:
            f.set_exception(RuntimeError(f'the zygote is gone: {e}'))
            self._gone()
            return f
        self.waiting.append(f)
        return f

    def _readable(self):
        while True:
            try:
                msg, fds, _, _ = socket.recv_fds(self.sock, 16384, 3)
            except BlockingIOError:
                return
            except OSError:
                msg, fds = b'', []
            if not msg:
                self._gone()
                return
            if not self.greeting.done():  # its first message: b'R' + JSON
                for fd in fds:
                    os.close(fd)
                try:
                    status = json.loads(msg[1:])
                except ValueError:
                    status = None
                if not isinstance(status, dict):
                    status = {'error': 'the zygote answered out of its protocol'}
                self.greeting.set_result(status)
                continue
            f = self.waiting.popleft() if self.waiting else None
            if f is None or f.done() or len(fds) != 3:
                for fd in fds:
                    os.close(fd)
                continue
            f.set_result((int(msg), *fds))

    def _gone(self):
        """The zygote died: forks asked of it fail, the next fork starts a new one."""
        if self.greeting is not None and not self.greeting.done():
            self.greeting.set_result({'error': 'the zygote exited before it was ready'})
        failure = self.greeting.result().get('error') if self.greeting is not None else None
        detail = f' ({failure})' if failure else ''
        why = 'the zygote exited' + detail
        if self.sock is not None:
            self.loop.remove_reader(self.sock.fileno())
            self.sock.close()
            self.sock = None
            self.log(f'WARNING engine zygote exited{detail}; a new one starts with the next worker')
        if self.proc is not None:
            self.proc.poll()
        while self.waiting:
            f = self.waiting.popleft()
            if not f.done():
                f.set_exception(RuntimeError(why))

    def close(self):
        if self.sock is not None:
            self.loop.remove_reader(self.sock.fileno())
            self.sock.close()  # EOF: the zygote kills its workers and exits
            self.sock = None
        if self.proc is not None:
            try:
                self.proc.wait(timeout=2)
            except subprocess.TimeoutExpired:
                self.proc.kill()


class Worker:
    """One worker process. `owner` gets its messages (owner.message(worker, msg)) and its end
    (owner.ended(worker)); messages before the worker is owned are its "ready" only."""

    def __init__(self, loop, pid, wfd, rfd, pidfd):
        self.loop = loop
        self.pid = pid
        self.wfd = wfd
        self.rfd = rfd
        self.pidfd = pidfd
        self.owner = None
        self.alive = True
        self.ready = loop.create_future()  # True when its seccomp filter is on
        self.reader = FrameReader()
        self.out = bytearray()
        self.sids = {}  # script name -> the version of it this worker has run
        self.last_schedstat = (0, 0)
        self.bytes_in = 0  # read from it since its current call started (lanes.py bounds it)
        self.max_bytes_in = MAX_BYTES_IN
        self.bytes_out = 0  # written to it since its current call's message (kv answers, data files)
        self.rest_ns = None  # its CPU time when its last call ended (lanes.py: none is used between calls)
        self.why = None  # why the engine killed it, when it broke the protocol: (message, limit)
        os.set_blocking(wfd, False)
        os.set_blocking(rfd, False)
        loop.add_reader(rfd, self._readable)

    def send(self, obj):
        self.send_frame(encode(obj))

    def send_frame(self, data):
        """A frame made already (frames.encode, encode_text)."""
        if not self.alive:
            return
        self.bytes_out += len(data)
        if not self.out:
            try:
                n = os.write(self.wfd, data)
            except BlockingIOError:
                n = 0
            except OSError:
                self.kill()
                return
            data = data[n:]
            if data:
                self.loop.add_writer(self.wfd, self._writable)
        self.out += data
        if len(self.out) > MAX_PENDING_OUT:
            self.kill()

    def _writable(self):
        try:
            n = os.write(self.wfd, self.out)
        except BlockingIOError:
            return
        except OSError:
            self.kill()
            return
        del self.out[:n]
        if not self.out:
            self.loop.remove_writer(self.wfd)

    def _readable(self):
        try:
            data = os.read(self.rfd, 1 << 20)
        except BlockingIOError:
            return
        except OSError:
            data = b''
        if not data:
            self.kill()
            return
        self.bytes_in += len(data)
        # Checked before anything is parsed: bytes while no call runs (a message after a call's
        # "done", from a spare), more than a call may send, a frame that is no message or too big.
        if not self._expected():
            self.kill(('a message while no call runs', False))
            return
        if self.bytes_in > self.max_bytes_in:
            self.kill((f'more than {self.max_bytes_in >> 20} MiB to the engine in one call', True))
            return
        try:
            self.reader.push(data)
            while self.alive:
                got = self.reader.next()
                if got is None:
                    return
                msg, size = got
                if msg.get('op') == 'ready' and not self.ready.done():
                    self.ready.set_result(msg.get('seccomp') is True)
                elif self.owner is not None:
                    self.owner.message(self, msg, size)
                else:
                    self.kill(('a message while no call runs', False))  # a spare that talks out of turn
                if self.alive and self.reader.buf and not self._expected():
                    self.kill(('a message while no call runs', False))  # more after the call's "done"
        except FrameError as e:
            self.kill((str(e), e.limit))

    def _expected(self):
        """Whether the worker may write now: its "ready", or while its owner waits for an answer."""
        if not self.ready.done():
            return True
        return self.owner is not None and self.owner.expecting(self)

    def schedstat(self):
        """(ns on a CPU, ns waiting for one) since the worker started; the last known once it is gone."""
        try:
            with open(f'/proc/{self.pid}/schedstat', 'rb') as f:
                run, wait = f.read().split()[:2]
            self.last_schedstat = (int(run), int(wait))
        except (OSError, ValueError):
            pass
        return self.last_schedstat

    def kill(self, why=None):
        """SIGKILL through the pidfd (never a pid another process may have by now), then forget it;
        `why`: (message, limit) when it broke the protocol."""
        if not self.alive:
            return
        self.why = why
        self.schedstat()
        self.alive = False
        try:
            signal.pidfd_send_signal(self.pidfd, signal.SIGKILL)
        except OSError:
            pass
        self.loop.remove_reader(self.rfd)
        if self.out:
            self.loop.remove_writer(self.wfd)
        for fd in (self.rfd, self.wfd, self.pidfd):
            os.close(fd)
        self.out = bytearray()
        if not self.ready.done():
            self.ready.set_result(False)
        if self.owner is not None:
            self.owner.ended(self)


class Pool:
    """Spare workers, forked ahead and waiting with their filter on: take() one, the pool forks
    another. `seccomp` is None until a worker said whether its filter is on."""

    def __init__(self, loop, zygote, spares, log):
        self.loop = loop
        self.zygote = zygote
        self.target = spares
        self.log = log
        self.spares = collections.deque()
        self.forking = 0
        self.seccomp = None
        self.closed = False

    async def fork(self, memory_mb=None):
        pid, wfd, rfd, pidfd = await self.zygote.fork(memory_mb)
        w = Worker(self.loop, pid, wfd, rfd, pidfd)
        on = await w.ready
        if w.alive and self.seccomp is None:
            self.seccomp = on
            self.log('INFO engine workers run with their seccomp filter on' if on else
                     'WARNING engine workers run WITHOUT a seccomp filter (python3-seccomp is not importable): '
                     'process and rlimits only, which do not keep a script from the files and network of its user')
        return w

    def refill(self):
        while not self.closed and len(self.spares) + self.forking < self.target:
            self.forking += 1
            self.loop.create_task(self._spare())

    async def _spare(self):
        try:
            w = await self.fork()
            if w.alive and not self.closed:
                self.spares.append(w)
            else:
                w.kill()
        except Exception as e:  # the zygote died: the next take() forks again
            self.log(f'WARNING engine could not fork a spare worker: {e}')
            await asyncio.sleep(0.1)
        finally:
            self.forking -= 1

    async def take(self):
        """A worker of one's own, its filter on: a spare, or a new one."""
        while self.spares:
            w = self.spares.popleft()
            if w.alive:
                self.refill()
                return w
        self.refill()
        for attempt in range(3):
            try:
                w = await self.fork()
                if w.alive:
                    return w
            except RuntimeError:
                if attempt == 2:
                    raise
                await asyncio.sleep(0.05)
        raise RuntimeError('no worker could be started')

    def close(self):
        self.closed = True
        while self.spares:
            self.spares.popleft().kill()
