"""The zygote: a clean Python process that forks the workers.

The main process starts it once (`python3 -I zygote.py FD MEMORY_MB CPU_S PRELOAD`, with an empty
environment) before it has read any request, so a worker forked from it holds no other tenant's
data: forking workers from the main process would copy its kv stores and requests in flight into
each worker, where `gc.get_objects()` finds them. Here everything the script API uses is imported
once (a worker cannot import after its seccomp filter is on), and the modules of --preload
(PRELOAD: comma-separated names, maybe none), so that a script's `import numpy` finds them in
sys.modules. Its first message says whether they imported: b'R' + JSON {"preloaded": {name:
version}, "ms"} or {"error": "..."} (then it exits). Then the zygote waits on its unix socket
(SOCK_SEQPACKET) for requests: b'F' + JSON {"memory_mb": N} forks a worker, and the answer
carries its pid and, as SCM_RIGHTS, the main process's ends of its two pipes and a pidfd (the main
process kills it through the pidfd: a pid may be reused, a pidfd names one process).

Preloaded modules run with one thread: a forked child keeps only the thread that forked it, so a
thread pool started at import (OpenBLAS, OpenMP, MKL under numpy) would be gone in every worker,
with its locks possibly held: a worker's first matrix product would then wait forever (a futex
wait fails at once under the filter) or touch dead threads' state. So OPENBLAS_NUM_THREADS,
OMP_NUM_THREADS and MKL_NUM_THREADS (and their kin) are 1 while they import, and a zygote that
still has more than one thread afterwards refuses to serve. numpy (which imports its subpackages
itself, numpy.testing excepted) also runs a matrix product and a solve here, so that a worker does
not map a BLAS buffer at its first call (_warm_numpy).

Workers are the zygote's children; SIGCHLD is ignored so the kernel reaps them. When the main
process goes away (EOF on the socket), the zygote kills the workers it still has and exits."""

import gc
import json
import os
import select
import signal
import socket
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

# Everything a worker uses, imported now: after fork, before the filter, nothing is read from disk.
from pyengine import dumpable  # noqa: E402
from pyengine.worker import sandbox, loop  # noqa: E402  (imports the API and its modules too)


def serve(sock, memory_mb, cpu_seconds):
    seccomp_filter = sandbox.build_filter()
    children = {}  # pid -> pidfd, to kill what is left when the main process goes
    while True:
        try:
            msg = sock.recv(4096)
        except InterruptedError:
            continue
        if not msg:
            break
        for pid in [p for p, fd in children.items() if select.select([fd], [], [], 0)[0]]:
            os.close(children.pop(pid))  # exited: a pidfd is readable once its process is gone
        try:
            memory = int(json.loads(msg[1:]).get('memory_mb', memory_mb)) if len(msg) > 1 else memory_mb
        except (ValueError, AttributeError):
            memory = memory_mb
        to_worker_r, to_worker_w = os.pipe()
        from_worker_r, from_worker_w = os.pipe()
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                sock.close()
                for fd in children.values():
                    os.close(fd)
                os.close(to_worker_w)
                os.close(from_worker_r)
                on = sandbox.enter(to_worker_r, from_worker_w, memory * 1024 * 1024, cpu_seconds, seccomp_filter)
                loop.serve(sandbox.IN_FD, sandbox.OUT_FD, on)
                code = 0
            finally:
                os._exit(code)
        os.close(to_worker_r)
        os.close(from_worker_w)
        pidfd = os.pidfd_open(pid)
        try:
            socket.send_fds(sock, [str(pid).encode()], [to_worker_w, from_worker_r, pidfd])
        finally:
            os.close(to_worker_w)
            os.close(from_worker_r)
        children[pid] = pidfd
    for fd in children.values():
        try:
            signal.pidfd_send_signal(fd, signal.SIGKILL)
        except OSError:
            pass


# Thread pools of numerical libraries, each told to start none (read when the library loads).
ONE_THREAD = ('OPENBLAS_NUM_THREADS', 'GOTO_NUM_THREADS', 'OMP_NUM_THREADS', 'MKL_NUM_THREADS',
              'BLIS_NUM_THREADS', 'VECLIB_MAXIMUM_THREADS', 'NUMEXPR_NUM_THREADS')


def _threads():
    """This process's threads (the kernel's count: those a library started in C included)."""
    try:
        return len(os.listdir('/proc/self/task'))
    except OSError:  # no /proc: Python's own threads at least
        import threading
        return threading.active_count()


def _warm_numpy(np):
    """What numpy would otherwise do at a worker's first call: a matrix product and a solve big
    enough for BLAS and LAPACK to map their buffer (OpenBLAS: 128 MiB at once, a worker's
    address-space limit refuses that and OpenBLAS retries forever, so it is mapped here, inherited,
    and part of what a worker has when it starts), printing an array, its random generator."""
    a = np.arange(200 * 200, dtype=np.float64).reshape(200, 200) / 40000
    a @ a
    a @ a[0]
    np.linalg.solve(a[:64, :64] + np.eye(64), np.ones(64))
    repr(a[:2, :2])
    np.random.default_rng(0).random(2)


WARM_UP = {'numpy': _warm_numpy}


def preload(names):
    """Imports `names` with one thread; {"preloaded": {name: version}, "ms"} or {"error"}."""
    if not names:
        return {'preloaded': {}, 'ms': 0}
    import importlib
    import time
    for var in ONE_THREAD:
        os.environ[var] = '1'
    start = time.monotonic()
    versions = {}
    for name in names:
        try:
            module = importlib.import_module(name)
            if name in WARM_UP:
                WARM_UP[name](module)
        except BaseException as e:  # ImportError, or whatever the module's import raised
            return {'error': f'--preload {name}: {type(e).__name__}: {str(e)[:500]}'}
        versions[name] = str(getattr(module, '__version__', ''))
    threads = _threads()
    if threads > 1:
        return {'error': f'--preload {",".join(names)}: the engine\'s zygote has {threads} threads after importing them '
                         '(a worker forked from it would have one, the others\' locks maybe held): the modules start '
                         'threads that OPENBLAS_NUM_THREADS=1 and OMP_NUM_THREADS=1 did not keep from starting'}
    return {'preloaded': versions, 'ms': round((time.monotonic() - start) * 1000)}


def main():
    # Not dumpable (pyengine/dumpable.py), nor the workers it forks: a process of the same user
    # without CAP_SYS_PTRACE cannot read their memory. ctypes, imported for it, is forgotten again.
    dumpable.not_dumpable(forget_ctypes=True)
    fd, memory_mb, cpu_seconds = (int(a) for a in sys.argv[1:4])
    names = [n for n in (sys.argv[4] if len(sys.argv) > 4 else '').split(',') if n]
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the kernel reaps workers
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the main process decides when this ends
    sock = socket.socket(fileno=fd)
    status = preload(names)
    os.environ.clear()  # the preloaded libraries read theirs while they loaded
    sock.send(b'R' + json.dumps(status).encode())
    if 'error' in status:
        sys.exit(1)
    gc.collect()
    gc.freeze()  # what every worker has (the API, preloaded modules): not scanned again by a worker's collections
    serve(sock, memory_mb, cpu_seconds)


if __name__ == '__main__':
    main()
