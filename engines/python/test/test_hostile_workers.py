"""Workers that write past the API onto their pipe, or use the machine past their calls (attack
s17py), against the real engine over its unix socket: a frame whose check was quadratic (F1),
frames far bigger than any message (F2) and the main process's work for a tenant charged to it
(F2b), a worker that answers and then spins (F3), another process's CPU clock (F4), and the main
process and the zygote out of reach of a process of their own user (F5).

    cd engines/python && /usr/bin/python3 -m unittest discover -s test -v
"""

import json
import os
import subprocess
import sys
import time
import unittest

from engine_process import PYTHON, Engine, worker_pids

MiB = 1 << 20

PID = '''
import os
def on_request(req):
    return respond(200, str(os.getpid()))
'''

# F1: an unterminated string of escaped quotes: 3 MB (the attack's 60 KB took the main process 9 s
# with the quadratic check: this one would take it days). Raw as the attack wrote it, and as the
# text of a "done" message (which the scan has to read).
REDOS = '''
import os, struct
def on_request(req):
    n = int(req.headers['X-N'])
    head = b'' if req.headers['X-Case'] == 'raw' else b'{"op":"done","ok":'
    p = head + b'"' + b'\\\\"' * n
    os.write(4, struct.pack('>I', len(p)))
    m = memoryview(p)
    while m:
        m = m[os.write(4, m):]
    return route_to('stable')
'''

# F2: frames of 16 MiB that hold millions of values (a log line with a list of floats, a decision
# of floats, a kv request with a dict of a million keys): each is refused (its worker killed)
# before it is parsed, the main process's memory stays.
BIG = '''
import os, struct
N = 16 * 1024 * 1024 - 64
def frame(head, item, tail):
    return head + item * ((N - len(head) - len(tail)) // len(item)) + tail
def on_request(req):
    case = req.headers['X-Case']
    if case == 'log-floats':
        p = frame(b'{"op":"log","text":"x","pad":[', b'1.0,', b'1.0]}')
    elif case == 'done-floats':
        p = frame(b'{"op":"done","ok":[', b'1.0,', b'1.0]}')
    else:
        p = b'{"op":"kv","fn":"set","args":["k",{' + b','.join(b'"%d":0' % i for i in range(1000000)) + b'},0]}'
    os.write(4, struct.pack('>I', len(p)))
    m = memoryview(p)
    while m:
        m = m[os.write(4, m):]
    return route_to('stable')
'''

# F2b: kv.get of a 64K-character emoji value (786 KB on the pipe, escaped), the replies read raw:
# the worker spends little CPU, the main process encodes and writes 31 MB.
KV_AMPLIFY = '''
import os, struct, json as _j
def frame(o):
    b = _j.dumps(o, separators=(',', ':')).encode()
    return struct.pack('>I', len(b)) + b
GET = frame({'op': 'kv', 'fn': 'get', 'args': ['big', None, None]})
def read(n):
    got = b''
    while len(got) < n:
        got += os.read(3, n - len(got))
    return got
def on_request(req):
    if req.headers['X-Case'] == 'set':
        kv.set('big', '\\U0001F600' * 65536)
        return respond(200, 'set')
    for _ in range(int(req.headers['X-N'])):
        os.write(4, GET)
        (n,) = struct.unpack('>I', read(4))
        while n:
            n -= len(os.read(3, min(n, 1 << 20)))
    return respond(200, 'read')
'''

# F3: a "done" written straight onto the pipe (the call is answered), then a loop, no call running.
SPIN = '''
import os, struct, json as _j
def on_request(req):
    d = {'op': 'done', 'ok': {'decision': {'kind': 'respond', 'status': 200, 'body': str(os.getpid()),
                                           'headers': {}, 'headerEdits': {}}, 'on_response': False}}
    b = _j.dumps(d, separators=(',', ':')).encode()
    os.write(4, struct.pack('>I', len(b)) + b)
    while True:
        pass
'''

# F4: the clocks a script may read, and the CPU clocks of other processes (clock id ((~pid) << 3) | 2),
# through Python and as raw system calls with the id sign-extended and zero-extended to 64 bits.
CLOCKS = '''
import ctypes, errno, os, time
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
SYS_clock_gettime, SYS_clock_getres = 228, 229
def code(f):
    try:
        f()
        return 'allowed'
    except OSError as e:
        return errno.errorcode.get(e.errno, str(e.errno))
def raw(nr, cid):
    buf = (ctypes.c_long * 2)()
    ctypes.set_errno(0)
    r = libc.syscall(ctypes.c_long(nr), ctypes.c_ulong(cid), buf)
    return 'allowed' if r == 0 else errno.errorcode.get(ctypes.get_errno(), str(ctypes.get_errno()))
def on_request(req):
    out = {'time': time.time() > 1.6e9, 'monotonic': time.monotonic() > 0, 'perf_counter': time.perf_counter() > 0,
           'process_time': time.process_time() >= 0, 'thread_time': time.thread_time() >= 0,
           'now': now() > 1.6e9, 'boottime': time.clock_gettime(time.CLOCK_BOOTTIME) > 0,
           'getres': time.clock_getres(time.CLOCK_MONOTONIC) > 0,
           'own_cpu_clock': time.clock_gettime(time.CLOCK_PROCESS_CPUTIME_ID) >= 0}
    for name, pid in (('zygote', os.getppid()), ('init', 1), ('self', os.getpid())):
        cid = ((~pid) << 3) | 2
        out['gettime ' + name] = code(lambda: time.clock_gettime(cid))
        out['getres ' + name] = code(lambda: time.clock_getres(cid))
        out['raw sign-extended ' + name] = raw(SYS_clock_gettime, cid & 0xffffffffffffffff)
        out['raw zero-extended ' + name] = raw(SYS_clock_gettime, cid & 0xffffffff)
        out['raw getres ' + name] = raw(SYS_clock_getres, cid & 0xffffffff)
    out['raw high bits, own clock'] = raw(SYS_clock_gettime, (1 << 40) | 2)
    return respond(200, json.encode(out))
'''


def wait_gone(pid, seconds=10):
    for _ in range(int(seconds * 50)):
        if not os.path.exists(f'/proc/{pid}'):
            return True
        time.sleep(0.02)
    return False


def peak_kib(pid):
    """VmHWM of a process: the most memory it has had resident."""
    with open(f'/proc/{pid}/status') as f:
        for line in f:
            if line.startswith('VmHWM:'):
                return int(line.split()[1])
    raise AssertionError('no VmHWM')


class HostileFramesTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.engine = Engine({'pid': PID, 'redos': REDOS, 'big': BIG, 'clocks': CLOCKS},
                            ['--deadline-ms', '1000', '--memory-mb', '256', '--preload', 'ctypes'])

    @classmethod
    def tearDownClass(cls):
        code = cls.engine.stop()
        if code != 0:
            raise AssertionError(f'SIGTERM: a graceful stop exits 0, not {code}')

    def neighbour_answers(self):
        self.assertEqual(self.engine.decide('neighbour', 'pid')['decision'], 'respond')

    def test_an_unterminated_string_of_escaped_quotes_kills_its_worker_not_the_main_process(self):
        for case in ('raw', 'done'):
            with self.subTest(case):
                a = self.engine.decide('t-redos', 'redos', [('X-Case', case), ('X-N', '1500000')], timeout=30)
                self.assertEqual(a['decision'], 'error', a)
                self.assertRegex(a['error'], r'redos\.py: the worker broke the engine\'s protocol: .*'
                                 + ('not a message' if case == 'raw' else 'not JSON'))
                self.neighbour_answers()

    def test_frames_of_millions_of_values_are_refused_before_they_are_parsed(self):
        self.neighbour_answers()
        before = peak_kib(self.engine.proc.pid)
        for case, why in (('log-floats', r'a frame of \d+ bytes for a log message, above the limit of 32768'),
                          ('done-floats', r'\d+ JSON values or more in a frame, above the limit of \d+'),
                          ('kv-dict', r'a frame of \d+ bytes for a kv message, above the limit of \d+')):
            with self.subTest(case):
                a = self.engine.decide('t-big', 'big', [('X-Case', case)], timeout=30)
                self.assertEqual((a['decision'], a.get('limit')), ('error', True), a)
                self.assertRegex(a['error'], r'big\.py: the worker broke the engine\'s protocol: ' + why)
                self.neighbour_answers()
        grew = (peak_kib(self.engine.proc.pid) - before) >> 10
        # Parsed, the first frame alone took 200 MB; refused, the main process holds at most one
        # 16 MiB frame (the decision's) and its text.
        self.assertLess(grew, 64, f'the main process grew by {grew} MiB')

    def test_scripts_read_their_clocks_and_no_other_processs_cpu_clock(self):
        a = self.engine.decide('t-clocks', 'clocks')
        self.assertEqual(a['decision'], 'respond', a)
        seen = json.loads(a['body'])
        for name in ('time', 'monotonic', 'perf_counter', 'process_time', 'thread_time', 'now', 'boottime', 'getres',
                     'own_cpu_clock'):
            self.assertIs(seen.pop(name), True, name)
        self.assertEqual(seen.pop('raw high bits, own clock'), 'allowed', 'a clock id is the low 32 bits')
        self.assertEqual(seen, {k: 'EPERM' for k in seen}, 'CPU clocks of processes by pid (negative clock ids)')


class EngineWorkChargedTest(unittest.TestCase):
    def test_the_main_processs_work_for_a_tenants_messages_is_charged_to_it(self):
        e = Engine({'kvamp': KV_AMPLIFY, 'pid': PID}, ['--deadline-ms', '2000', '--time-share-ms', '100'])
        try:
            self.assertEqual(e.decide('t-amp', 'kvamp', [('X-Case', 'set')])['body'], 'set')
            # 40 replies of 786 KB: 31 MB encoded and written by the main process for a few ms of the worker's CPU
            a = e.decide('t-amp', 'kvamp', [('X-Case', 'read'), ('X-N', '40')], timeout=30)
            self.assertEqual(a.get('body'), 'read', a)
            a = e.decide('t-amp', 'kvamp', [('X-Case', 'set')])
            self.assertEqual((a['decision'], a.get('limit')), ('error', True), a)
            self.assertRegex(a['error'], r"the tenant's scripts used their time share \(100 ms of script time a second\)")
            self.assertEqual(e.decide('neighbour', 'pid')['decision'], 'respond')
        finally:
            self.assertEqual(e.stop(), 0)


class CpuOutsideCallsTest(unittest.TestCase):
    def test_a_worker_that_spins_after_its_answer_is_killed_and_its_tenant_charged(self):
        e = Engine({'spin': SPIN, 'pid': PID}, ['--time-share-ms', '10'])
        try:
            a = e.decide('t-spin', 'spin')
            self.assertEqual(a['decision'], 'respond', a)  # the forged answer
            pid = int(a['body'])
            self.assertTrue(wait_gone(pid), 'the worker spinning with no call running was killed')
            self.assertRegex(e.log(), r"WARNING engine killed the worker of tenant t-spin: it used \d+ ms of CPU "
                                      r"with no call running")
            a = e.decide('t-spin', 'pid')
            self.assertEqual((a['decision'], a.get('limit')), ('error', True), a)
            self.assertRegex(a['error'], r"used their time share")
            self.assertEqual(e.decide('neighbour', 'pid')['decision'], 'respond')
        finally:
            self.assertEqual(e.stop(), 0)


PROBE = r'''
import json, os, sys
out = {}
for name, pid in json.loads(sys.argv[1]).items():
    def attempt(what, f):
        try:
            f()
            out[f'{what} {name}'] = 'allowed'
        except OSError as e:
            out[f'{what} {name}'] = type(e).__name__
    attempt('open mem of', lambda: os.close(os.open(f'/proc/{pid}/mem', os.O_RDONLY)))
    attempt('read environ of', lambda: open(f'/proc/{pid}/environ', 'rb').read())
    attempt('read maps of', lambda: open(f'/proc/{pid}/maps', 'rb').read())
print(json.dumps({'uid': os.getuid(), 'results': out}))
'''


class NotDumpableTest(unittest.TestCase):
    """F5: under bubblewrap the engine runs as uid 65534, as its workers do: the main process (which
    holds every tenant's kv) and the zygote are not dumpable, so a process of their user without
    CAP_SYS_PTRACE (a worker past its filter) can neither open their memory nor read their /proc
    files; the workers, forked from the zygote, are not dumpable either."""

    def test_a_process_of_the_engines_own_user_cannot_reach_its_memory(self):
        user = 65534 if os.getuid() == 0 else None  # as root, the engine and the prober run as nobody
        e = Engine({'pid': PID}, user=user)
        try:
            worker = int(e.decide('a', 'pid')['body'])
            zygote = subprocess.run(['pgrep', '-P', str(e.proc.pid), '-f', 'zygote.py'], capture_output=True,
                                    text=True).stdout.split()
            self.assertEqual(len(zygote), 1)
            self.assertIn(worker, worker_pids(e))
            targets = {'main': e.proc.pid, 'zygote': int(zygote[0]), 'worker': worker}
            as_user = {} if user is None else {'user': user, 'group': user, 'extra_groups': []}
            p = subprocess.run([PYTHON, '-c', PROBE, json.dumps(targets)], capture_output=True, text=True, timeout=30,
                               cwd='/', **as_user)
            self.assertEqual(p.returncode, 0, p.stderr)
            seen = json.loads(p.stdout)
            self.assertEqual(seen['uid'], os.stat(f'/proc/{e.proc.pid}').st_uid if user is None else user)
            self.assertEqual(seen['results'], {k: 'PermissionError' for k in seen['results']})
            self.assertEqual(e.decide('a', 'pid')['decision'], 'respond', 'the engine still reads its workers')
        finally:
            self.assertEqual(e.stop(), 0)


if __name__ == '__main__':
    unittest.main()
