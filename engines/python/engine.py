#!/usr/bin/python3
"""The Keystone script engine for Python scripts: serves every *.py script of a directory over the
protocol of docs/engine-protocol.md, like `keystone engine` does for *.lua. Scripts run in worker
processes, one per tenant, sandboxed with rlimits and (Debian's python3-seccomp) a seccomp filter;
this process never runs script code. Standard library only.

    /usr/bin/python3 engines/python/engine.py --scripts DIR --listen 127.0.0.1:8081|unix:/path/engine.sock

SIGHUP reloads the scripts; SIGTERM (or SIGINT) stops accepting, finishes what is running and
exits 0. See README.md for the script API, the architecture and the trust model."""

import argparse
import asyncio
import keyword
import os
import re
import resource
import signal
import socket
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ next to the engine's files
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from pyengine import dumpable, library  # noqa: E402
from pyengine.httpserver import Server, MAX_HEAD  # noqa: E402
from pyengine.server import Endpoints, MAX_BODY  # noqa: E402
from pyengine.service import Service  # noqa: E402
from pyengine.workers import Zygote, Pool  # noqa: E402

_CONTROL = re.compile(r'[\x00-\x08\x0a-\x1f\x7f]')  # escaped, so that nothing can write a line of its own


def log(line):
    """One line per entry, timestamped, whatever it quotes (control characters escaped)."""
    t = time.time()
    stamp = time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime(t)) + f'.{int(t % 1 * 1000):03d}Z'
    text = _CONTROL.sub(lambda m: f'\\x{ord(m.group()):02x}', str(line))
    sys.stdout.write(f'{stamp} {text}\n')
    sys.stdout.flush()


def parse_args(argv):
    p = argparse.ArgumentParser(prog='engine.py', description='The Keystone script engine for Python scripts.')
    p.add_argument('--scripts', default='scripts', help='directory of *.py scripts (default: scripts)')
    p.add_argument('--listen', default='127.0.0.1:8081', help='host:port (port 0: any) or unix:/path/engine.sock')
    p.add_argument('--deadline-ms', type=int, default=50, help='CPU time of one call into a script (default 50)')
    p.add_argument('--memory-mb', type=int, default=48, help="memory of each tenant's worker beyond its start (default 48)")
    p.add_argument('--time-share-ms', type=int, default=500, help='script time per second per tenant (default 500)')
    p.add_argument('--max-workers', type=int, default=64, help='tenants with a worker at once (default 64)')
    p.add_argument('--spare-workers', type=int, default=2, help='workers forked ahead (default 2)')
    p.add_argument('--kv-tenant-mb', type=int, default=16, help="one tenant's key/value store (default 16)")
    p.add_argument('--kv-total-mb', type=int, default=128, help="all tenants' stores together (default 128)")
    p.add_argument('--worker-cpu-s', type=int, default=600, help='CPU seconds a worker may use in its life (RLIMIT_CPU, a backstop)')
    p.add_argument('--preload', default='', metavar='MODULES',
                   help='modules the workers have imported, comma-separated (e.g. numpy): scripts may import them')
    p.add_argument('--data-dir', metavar='DIR',
                   help='where the data files (*.csv, *.json, *.txt) scripts read with data(NAME) are (default: --scripts)')
    p.add_argument('--allow-no-seccomp', action='store_true',
                   help='start even without python3-seccomp (workers then have only rlimits and the process boundary: '
                        'trusted scripts only)')
    o = p.parse_args(argv)
    if o.deadline_ms < 1:
        p.error('--deadline-ms: a whole number of milliseconds, at least 1')
    if not 16 <= o.memory_mb <= 4096:
        p.error('--memory-mb: 16 to 4096')
    if not 10 <= o.time_share_ms <= 1000000:
        p.error('--time-share-ms: 10 to 1000000')
    if o.max_workers < 1 or o.spare_workers < 0 or o.kv_tenant_mb < 1 or o.kv_total_mb < o.kv_tenant_mb:
        p.error('--max-workers at least 1, --spare-workers at least 0, --kv-total-mb at least --kv-tenant-mb')
    o.preload = preload_names(o.preload, p.error)
    if o.data_dir is None:
        o.data_dir = o.scripts
    if not o.listen.startswith('unix:'):
        host, _, port = o.listen.rpartition(':')
        if not host or not port.isdigit() or int(port) > 65535:
            p.error(f"--listen: host:port or unix:/path, got '{o.listen}'")
        o.host, o.port = host.strip('[]'), int(port)
    return o


_MODULE = re.compile(r'[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*')
MAX_PRELOAD = 32


def preload_names(value, error):
    """--preload's module names, checked: plain (dotted) module names only, no paths, at most 32."""
    names = [n.strip() for n in value.split(',')] if value.strip() else []
    for n in names:
        if not _MODULE.fullmatch(n) or len(n) > 100 or any(keyword.iskeyword(part) for part in n.split('.')):
            error(f"--preload: module names separated by commas (such as numpy or numpy.linalg), got {n!r}")
    if len(names) > MAX_PRELOAD:
        error(f'--preload: at most {MAX_PRELOAD} modules')
    return list(dict.fromkeys(names))


async def listen(handler, o):
    """The server on a TCP port or a unix socket (a socket file left by a dead engine is replaced,
    a live one is not); its address as logged."""
    if o.listen.startswith('unix:'):
        path = o.listen[5:]
        if os.path.exists(path):
            probe = socket.socket(socket.AF_UNIX)
            try:
                probe.connect(path)
                raise OSError(f'{path}: another engine listens there')
            except (ConnectionRefusedError, FileNotFoundError):
                os.unlink(path)
            finally:
                probe.close()
        server = await asyncio.start_unix_server(handler, path, limit=MAX_HEAD, backlog=1024)
        return server, o.listen
    server = await asyncio.start_server(handler, o.host, o.port, limit=MAX_HEAD, backlog=1024, reuse_address=True)
    port = server.sockets[0].getsockname()[1]
    return server, f'{o.host}:{port}'


def more_files():
    """The soft limit of open files raised to the hard one (up to 65536): each connection is one,
    each worker three (two pipes and a pidfd)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 65536 if hard == resource.RLIM_INFINITY else min(hard, 65536)
    if soft != resource.RLIM_INFINITY and soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))


def seccomp_available():
    try:
        import seccomp  # noqa: F401 (Debian's python3-seccomp; the workers' zygote runs this interpreter)
        return True
    except ImportError:
        return False


async def main(o):
    # Not dumpable, first: the main process holds every tenant's kv, and under bubblewrap its workers
    # have its uid (pyengine/dumpable.py).
    try:
        dumpable.not_dumpable()
    except (OSError, ImportError, AttributeError) as e:
        log(f'SEVERE engine did not start: it could not make itself not dumpable (prctl PR_SET_DUMPABLE): {e}')
        return 1
    # Without the filter a script reaches the host (files, sockets, processes): refuse to serve
    # unless the operator says the scripts are trusted.
    if not seccomp_available() and not o.allow_no_seccomp:
        log('SEVERE engine did not start: python3-seccomp is not importable by ' + sys.executable
            + ' (Debian: apt-get install python3-seccomp, and run /usr/bin/python3); --allow-no-seccomp starts'
            + ' without it, for trusted scripts only')
        return 2
    more_files()
    loop = asyncio.get_running_loop()
    zygote = Zygote(loop, o.memory_mb, o.worker_cpu_s, log, o.preload)
    try:
        status = await zygote.start()
    except RuntimeError as e:
        log(f'SEVERE engine did not start: {e}')
        zygote.close()
        return 1
    if o.preload:
        log(f'INFO engine workers have {", ".join(f"{n} {v}".strip() for n, v in status["preloaded"].items())} '
            f'imported (--preload, {status["ms"]} ms in the zygote, one thread)')
    pool = Pool(loop, zygote, o.spare_workers, log)
    try:
        lib = await library.load(o.scripts, 1, pool, partial=True, data_dir=o.data_dir)
    except library.LoadError as e:
        log(f'SEVERE engine did not start: {"; ".join(e.errors)}')
        zygote.close()
        return 1
    for error in lib.failing:
        log(f'WARNING engine serves a script that did not compile (or a data file it could not read) as failing: {error}')
    if lib.data.frames:
        names = sorted(lib.data.frames)
        log(f'INFO engine data files in {o.data_dir}: {len(names)}, {lib.data.size} bytes '
            f'({", ".join(names[:10])}{", ..." if len(names) > 10 else ""})')
    service = Service(loop, lib, pool, o, log)
    http = Server(Endpoints(service, log).handle, MAX_BODY, log)
    server, address = await listen(http.serve, o)
    pool.refill()
    log(f'INFO engine serving {len(lib.scripts)} script(s) from {o.scripts} on {address}; workers: one per tenant, '
        f'{o.memory_mb} MiB each, deadline {o.deadline_ms} ms of CPU')

    stopped = loop.create_future()

    def reload():
        async def run():
            try:
                lib = await service.reload()
                log(f'INFO engine scripts version {lib.version}: {len(lib.scripts)} script(s)')
            except library.LoadError as e:
                log(f'WARNING engine reload rejected: {"; ".join(e.errors)}')
        loop.create_task(run())

    def stop(name):
        if not stopped.done():
            log(f'INFO engine stopping ({name})')
            stopped.set_result(None)

    loop.add_signal_handler(signal.SIGHUP, reload)
    loop.add_signal_handler(signal.SIGTERM, stop, 'SIGTERM')
    loop.add_signal_handler(signal.SIGINT, stop, 'SIGINT')
    watch = loop.create_task(watch_parent(os.environ.get('KEYSTONE_ENGINE_PARENT'), stop))
    sweep = loop.create_task(service.sweep())
    await stopped
    watch.cancel()
    sweep.cancel()
    server.close()
    http.close_idle()
    for _ in range(50):  # running requests finish (at most 5 s)
        if not http.connections:
            break
        await asyncio.sleep(0.1)
    service.close()
    pool.close()
    zygote.close()
    if o.listen.startswith('unix:'):
        try:
            os.unlink(o.listen[5:])
        except OSError:
            pass
    return 0


async def watch_parent(value, stop):
    """A supervising gateway without a sandbox names itself in KEYSTONE_ENGINE_PARENT: once that
    process is gone (killed with -9 too), the engine goes, checked every second."""
    if not value or not value.isdigit() or int(value) <= 1:
        return
    pid = int(value)
    while True:
        await asyncio.sleep(1)
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            log(f'INFO engine stopping: its gateway (pid {pid}) is gone')
            stop('parent gone')
            return
        except PermissionError:
            pass


if __name__ == '__main__':
    sys.exit(asyncio.run(main(parse_args(sys.argv[1:]))))
