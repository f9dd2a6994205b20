# Conformance: a hostile tenant. X-Attack picks the attack (checks/hostile.js). Each attack on
# the engine's limits should end in an error or a harmless answer; each attempt to reach the
# engine's host answers with what it reached, "nothing" when it reached nothing.
#
# CPython cannot be sandboxed from the inside, and this script does not pretend it can: it
# imports what it likes, walks __subclasses__(), gc.get_objects(), frames and the API's own
# globals, forges messages on the worker's pipe and calls the operating system. The JavaScript
# escapes have their Python forms here (what a Python script would try); every one must fail for
# real, by the engine's worker sandbox (seccomp, no privileges, rlimits) and its process boundary
# (another tenant's data is in no object of this process), not by this script going easy.
import gc
import os
import sys

MiB = 1024 * 1024
kept = []  # "grow": what the tenant keeps between calls


def attempt(f):
    """f()'s result, or None when it raised."""
    try:
        return f()
    except Exception:
        return None


def answer(found):
    found = [f for f in found if f]
    return respond(200, 'nothing' if not found else ' | '.join(found))


def reached(name, f):
    """`name` when f() ran and returned something true (the operation worked), else ''."""
    return name if attempt(f) else ''


def run_id(req):
    return req.tenant.split('-hostile-')[0]


# ---- what a reached host would give -------------------------------------------------------
def files():
    return [reached('read /etc/passwd', lambda: open('/etc/passwd').read()),
            reached('os.open', lambda: os.open('/etc/hostname', os.O_RDONLY) >= 0),
            reached('listed /', lambda: os.listdir('/')),
            reached('stat', lambda: os.stat('/etc/passwd')),
            reached('/proc/self/environ', lambda: open('/proc/self/environ', 'rb').read()),
            reached('getcwd', lambda: os.getcwd()),
            reached('wrote a file', lambda: open('/tmp/keystone-hostile-was-here', 'w').write('x'))]


def fork_child():
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    return True


def processes():
    import _thread
    return [reached('fork', fork_child),
            reached('os.system', lambda: os.system('true') == 0),
            reached('posix_spawn', lambda: os.posix_spawn('/bin/true', ['true'], {}) > 0),
            reached('subprocess', lambda: __import__('subprocess').run(['true']).returncode == 0),
            reached('a thread', lambda: _thread.start_new_thread(lambda: None, ()) is not None)]


def network():
    import socket
    found = [reached('a TCP socket', lambda: socket.socket(socket.AF_INET, socket.SOCK_STREAM)),
             reached('a unix socket', lambda: socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)),
             reached('a socket pair', lambda: socket.socketpair())]
    s = attempt(lambda: socket.create_connection(('127.0.0.1', 19899), timeout=0.01))
    return found + ['connected' if s else '']


def signals():
    import signal
    return [reached('a signal to the parent', lambda: os.kill(os.getppid(), 0) is None),
            reached('a signal to init', lambda: os.kill(1, 0) is None),
            reached('a signal handler', lambda: signal.signal(signal.SIGALRM, signal.SIG_IGN) is not None),
            reached('a timer', lambda: signal.setitimer(signal.ITIMER_REAL, 5) is not None)]


def environment():
    keys = attempt(lambda: sorted(os.environ))
    return ['environment: ' + ','.join(keys) if keys else '', reached('PATH', lambda: os.getenv('PATH'))]


def foreign(req, values):
    """Another tenant's data among `values`: a string naming another tenant of this run (its
    requests, the secret kv-plant plants, which names its tenant). Called before this script makes
    such strings itself (other_tenants_kv)."""
    run, me = run_id(req) + '-', req.tenant
    for v in values:
        if isinstance(v, str) and run in v and me not in v:
            return "another tenant's data"
    return ''


def strings_in(objects):
    for o in objects:
        if isinstance(o, dict):
            yield from (x for kv_ in o.items() for x in kv_ if isinstance(x, str))
        elif isinstance(o, (list, tuple, set)):
            yield from (x for x in o if isinstance(x, str))
        elif isinstance(o, str):
            yield o


def engine_channel():
    """The worker's own channel to the engine, found past the API (its helpers' globals)."""
    g = type(kv).get.__globals__
    return g['api'].current.channel


def forged_kv(req, victim, key):
    """A kv.get sent on the worker's pipe as another tenant, however a message could name one."""
    chan = engine_channel()
    got = []
    for msg in ({'op': 'kv', 'fn': 'get', 'args': [key, None, None], 'tenant': victim},
                {'op': 'kv', 'fn': 'get', 'args': [key, None, None], 'store': victim},
                {'op': 'kv', 'fn': 'get', 'args': [victim + '/' + key, None, None]}):
        chan.send(msg)
        got.append(chan.recv().get('ok'))
    return any(isinstance(g, str) and g.startswith('planted by another tenant') for g in got)


def other_tenants_kv(req):
    run = run_id(req)
    probes = [(run + '-hostile-kv-victim', 'secret'), (run + '-kv-a', 'hits'), (run + '-res-kv', 'decided')]
    return [reached("another tenant's kv", lambda: forged_kv(req, t, k)) for t, k in probes]


def engine_objects():
    """The main process's objects (kv stores, other workers' pipes) among this process's objects."""
    names = {type(o).__name__ for o in gc.get_objects()}
    found = sorted(names & {'KeyValueStore', 'Stores', 'Lane', 'Service', 'Zygote', 'Pool'})
    return ['engine objects: ' + ','.join(found) if found else '',
            'the engine\'s modules' if 'pyengine.service' in sys.modules else '']


def everything(req):
    return files() + processes() + network() + signals() + environment() + engine_objects()


def subclass_escape():
    """().__class__.__base__.__subclasses__(): whatever classes reach os, files, processes."""
    found = []
    for cls in ().__class__.__base__.__subclasses__():
        name = cls.__name__
        if name == '_wrap_close':
            g = cls.__init__.__globals__
            found += [reached('os.system via _wrap_close', lambda: g['system']('true') == 0),
                      reached('os.listdir via _wrap_close', lambda: g['listdir']('/'))]
        elif name == 'FileIO':
            found.append(reached('FileIO', lambda: cls('/etc/passwd').read()))
        elif name == 'BuiltinImporter':
            found.append(reached('posix via BuiltinImporter', lambda: cls.load_module('posix').open('/etc/passwd', 0) >= 0))
        elif name == 'catch_warnings':
            imp = cls()._module.__builtins__['__import__']
            found.append(reached('os via catch_warnings', lambda: imp('os').popen('id').read()))
    return found


# ---- attacks ---------------------------------------------------------------------------------
class Looping(dict):
    """A dict whose keys and items never come: what the API reads runs under the deadline."""

    def keys(self):
        while True:
            pass

    items = keys

    def __iter__(self):
        while True:
            pass


def spin(*args):
    while True:
        pass


class Spin:
    def __del__(self):
        spin()  # a finalizer: must run inside a call (under its deadline), or never


def api_call():
    """The API's running call, reached past the API (route_to's module globals)."""
    return route_to.__globals__['api'].current


def forged_done(decision):
    """A "done" message written straight onto the worker's pipe, past the API."""
    chan = engine_channel()
    chan.send({'op': 'done', 'ok': {'decision': decision, 'on_response': False}})


def import_comment(req):
    found = [reached('imported ' + m, lambda: __import__(m)) for m in ('ctypes', 'mmap', 'multiprocessing', 'threading', 'asyncio')]
    found.append(reached('a module from a file', lambda: __import__('importlib.machinery').machinery.SourceFileLoader(
        'evil', '/etc/passwd').load_module()))
    err = None
    try:
        __import__('ctypes')
    except ImportError as e:
        err = e
    # What the rejection reached: the import machinery's own os module, from the error's frames.
    later = []
    tb = err.__traceback__ if err is not None else None
    while tb is not None:
        g = tb.tb_frame.f_globals
        if '_os' in g:
            later.append(reached('posix.open via the import machinery', lambda: g['_os'].open('/etc/passwd', 0) >= 0))
        tb = tb.tb_next
    kv.set('import', ' | '.join(x for x in later if x) or 'nothing')
    return answer(found)


def host_errors(req):
    found = []
    calls = [lambda: route_to('no-such-backend'), lambda: kv.set('', 1), lambda: json.decode('{'), lambda: hash(None),
             lambda: respond(101), lambda: kv.get('k' * 300), lambda: json.encode(lambda: 1)]
    for f in calls:
        try:
            f()
        except Exception as e:
            tb = e.__traceback__
            while tb is not None:
                fr = tb.tb_frame
                found.append(foreign(req, strings_in([fr.f_globals, fr.f_locals])))
                found.append(reached('os.system from a frame', lambda: fr.f_globals['os'].system('true') == 0))
                tb = tb.tb_next
    found += other_tenants_kv(req) + engine_objects()
    return answer(found)


def prepare_stack(req):
    found = []
    fr = sys._getframe()
    while fr is not None:  # up to the worker's own loop
        found.append(foreign(req, strings_in([fr.f_globals, fr.f_locals])))
        fr = fr.f_back
    found.append(foreign(req, strings_in(gc.get_objects())))
    return answer(found)


def promise_loop(req):
    import _thread
    import signal
    attempt(lambda: _thread.start_new_thread(spin, ()))  # a thread looping after the call?
    attempt(lambda: signal.signal(signal.SIGALRM, spin))  # a timer's handler looping in the next call?
    attempt(lambda: signal.setitimer(signal.ITIMER_REAL, 0.05))
    gc.callbacks.append(spin)  # a hook the next call's garbage collection would run?
    s = Spin()
    s.me = s  # garbage once the call returns, collected by gc: when?
    del s
    return respond(200, 'queued')


def atomics_wait(req):
    import _thread
    import select
    import time
    lock = _thread.allocate_lock()
    lock.acquire()
    return answer([reached('time.sleep returned', lambda: time.sleep(10) is None),
                   reached('select returned', lambda: select.select([], [], [], 10) is not None),
                   reached('a lock wait returned the lock', lambda: lock.acquire(timeout=10))])


def shared_memory(req):
    return answer([reached('memfd', lambda: os.memfd_create('x') >= 0),
                   reached('imported mmap', lambda: __import__('mmap')),
                   reached('shared memory', lambda: __import__('multiprocessing.shared_memory'))])


def eval_attack(req):
    return answer([reached('eval: ' + code, lambda: eval(code)) for code in
                   ("__import__('os').system('true') == 0", "open('/etc/passwd').read()",
                    "__import__('os').listdir('/')", "__import__('socket').socket()")])


def kv_steal(req):
    seen = foreign(req, strings_in(gc.get_objects()))
    return answer([seen, kv.get('secret') or ''] + other_tenants_kv(req))


def decision_many_headers(req):
    api_call().edits['headerEdits'] = {'h' + format(i, 'x'): '' for i in range(90000)}


ATTACKS = {
    # ---- limits: an error (limit true where a limit stopped it) or a harmless answer ----------
    'repeat-huge': lambda req: respond(200, str(len('x' * (2 ** 31 - 1)))),
    'repeat-negative': lambda req: respond(200, str(len('x' * -1))),
    'json-doubling': lambda req: respond(200, str(len(json.encode(doubling())))),
    'json-refs': lambda req: respond(200, str(len(json.encode(['x' * MiB] * 300)))),
    'log-huge': lambda req: (log(*(['x' * MiB] * 300)), respond(200, 'logged'))[1],
    'grow': lambda req: (kept.append(('x' * MiB + str(len(kept))).upper()), respond(200, str(len(kept))))[1],
    'loop': spin,
    'recursion': lambda req: deeper(0),
    'kv-fill': lambda req: kv_fill(),
    'kv-clear': lambda req: kv_clear(),
    'respond-101': lambda req: respond(101, 'switching'),
    'header-control': lambda req: req.set_header('X-Evil', 'a\x01b'),
    'path-dotdot': lambda req: req.set_path('/../../x'),
    'path-encoded': lambda req: req.set_path('/%2e%2e/x'),
    'path-semicolon': lambda req: req.set_path('/..%3b/x'),
    'path-fullwidth': lambda req: req.set_path('/%ef%bc%8e%ef%bc%8e/x'),
    'path-nul-twice': lambda req: req.set_path('/a/%2500/x'),
    'log-forge': lambda req: (log('x\nSEVERE forged'), respond(200, 'logged'))[1],
    # ---- escapes: the answer is what was reached, "nothing" if nothing -------------------------
    'import-comment': import_comment,
    'import-result': lambda req: respond(200, kv.get('import') or 'nothing'),
    'constructor': lambda req: answer(subclass_escape()),
    'function-this': lambda req: answer(files() + environment()),
    'arrow-constructor': lambda req: answer(processes() + network() + signals()),
    'host-errors': host_errors,
    'globals': lambda req: answer(everything(req)),
    'prepare-stack': prepare_stack,
    'promise-loop': promise_loop,
    'atomics-wait': atomics_wait,
    'shared-memory': shared_memory,
    'eval': eval_attack,
    'getter-decision': lambda req: respond(200, 'x', Looping()),
    'proxy-labels': lambda req: route_to(Looping()),
    'tojson-loop': lambda req: json.encode(Looping()),
    'kv-plant': lambda req: (kv.set('secret', 'planted by another tenant, ' + req.tenant), respond(200, 'planted'))[1],
    'kv-steal': kv_steal,
    # A loop inside C code (a regular expression backtracking), which no Python-level check sees.
    'builtin-spin': lambda req: respond(200, str(__import__('re').match(r'(x+x+)+y', 'x' * 64))),
    # Decisions made past the API: the API's call state written directly, its method replaced, a
    # "done" message forged on the worker's pipe; all naming backends the request did not offer.
    'foreign-route': lambda req: api_call().__setattr__('verdict', {
        'kind': 'route', 'target': 'other-tenant-db', 'backends': ['other-tenant-db']}),
    'foreign-target': lambda req: api_call().__setattr__('verdict', {
        'kind': 'route', 'target': 'other-tenant-db', 'backends': ['stable']}),
    'assign-route': lambda req: (setattr(type(api_call()), 'decision', lambda self: {
        'kind': 'route', 'target': 'stable', 'backends': ['admin-backend'], 'headerEdits': {}}), route_to('stable'))[1],
    'prototype-route': lambda req: forged_done({'kind': 'route', 'target': 'stable', 'backends': ['admin-backend'],
                                                'headerEdits': {}}),
    'decision-many-headers': decision_many_headers,
    'respond-huge-body': lambda req: respond(200, 'x' * int(1.5 * MiB)),
    # Decodes whatever body the client sent (checks/hostile.js sends 330,000 empty arrays).
    'decode-body': lambda req: respond(200, f'decoded {len(json.decode(req.body))}'),
    # Uses its whole deadline, call after call (the tenant's time share).
    'burn': spin,
}


def doubling():
    t = 'x'
    for _ in range(40):
        t = [t, t]
    return t


def deeper(n):
    return deeper(n + 1) + 1


def kv_fill():
    value = 'v' * (64 * 1024)
    for _ in range(32):
        kv.set('fill-' + str(kv.incr('fill-n')), value)
    return respond(200, 'more')


def kv_clear():
    n = kv.get('fill-n') or 0
    for i in range(1, n + 1):
        kv.delete('fill-' + str(i))
    kv.delete('fill-n')
    return respond(200, 'cleared')


def on_request(req):
    attack = ATTACKS.get(req.headers['X-Attack'])
    if attack is None:
        return respond(400, 'no attack ' + str(req.headers['X-Attack']))
    return attack(req)
