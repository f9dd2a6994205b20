"""The zygote: a clean Python process that forks the workers.

The main process starts it once (`python3 -I zygote.py FD MEMORY_MB CPU_S`, with an empty
environment) before it has read any request, so a worker forked from it holds no other tenant's
data: forking workers from the main process would copy its kv stores and requests in flight into
each worker, where `gc.get_objects()` finds them. Here everything the script API uses is imported
once (a worker cannot import after its seccomp filter is on), then the zygote waits on its unix
socket (SOCK_SEQPACKET) for requests: b'F' + JSON {"memory_mb": N} forks a worker, and the answer
carries its pid and, as SCM_RIGHTS, the main process's ends of its two pipes and a pidfd (the main
process kills it through the pidfd: a pid may be reused, a pidfd names one process).

Workers are the zygote's children; SIGCHLD is ignored so the kernel reaps them. When the main
process goes away (EOF on the socket), the zygote kills the workers it still has and exits."""

import json
import os
import select
import signal
import socket
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

# Everything a worker uses, imported now: after fork, before the filter, nothing is read from disk.
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


def main():
    fd, memory_mb, cpu_seconds = (int(a) for a in sys.argv[1:4])
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the kernel reaps workers
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the main process decides when this ends
    os.environ.clear()
    sock = socket.socket(fileno=fd)
    serve(sock, memory_mb, cpu_seconds)


if __name__ == '__main__':
    main()
