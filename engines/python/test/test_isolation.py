"""The workers' isolation, against the real engine over its unix socket: a deadline that really
stops a call (SIGKILL) and a worker replaced for the next call; a worker that runs out of memory;
seccomp denying open, socket and exec from a script; one tenant looping while another answers;
one tenant's kv out of another's reach, even through the pipe; a worker breaking the protocol.

    cd engines/python && /usr/bin/python3 -m unittest discover -s test -v
"""

import json
import os
import threading
import time
import unittest

from engine_process import Engine, worker_pids

PID = '''
import os
def on_request(req):
    return respond(200, str(os.getpid()))
'''

LOOP = '''
import os
def on_request(req):
    if req.headers['X-Case'] == 'pid':
        return respond(200, str(os.getpid()))
    while True:
        pass
'''

MEMORY = '''
import os
kept = []
def on_request(req):
    if req.headers['X-Case'] == 'pid':
        return respond(200, str(os.getpid()) + ':' + str(len(kept)))
    while True:
        kept.append(bytearray(4 * 1024 * 1024))
'''

SYSCALLS = '''
import errno, os, socket
def code(f):
    try:
        f()
        return 'allowed'
    except OSError as e:
        return errno.errorcode.get(e.errno, str(e.errno))
    except Exception as e:
        return type(e).__name__
def fork():
    if os.fork() == 0:
        os._exit(0)
def on_request(req):
    return respond(200, json.encode({
        'open': code(lambda: open('/etc/hostname')),
        'open_write': code(lambda: open('/tmp/pyengine-test-escape', 'w')),
        'socket': code(lambda: socket.socket(socket.AF_INET, socket.SOCK_STREAM)),
        'unix_socket': code(lambda: socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)),
        'exec': code(lambda: os.execv('/bin/true', ['true'])),
        'fork': code(fork),
        'kill_parent': code(lambda: os.kill(os.getppid(), 0)),
        'listdir': code(lambda: os.listdir('/')),
        'environ': sorted(os.environ),
        'uid': os.getuid(),
    }))
'''

KV = '''
def on_request(req):
    kind = req.headers['X-Case']
    if kind == 'plant':
        kv.set('secret', 'of ' + req.tenant)
        return respond(200, 'planted')
    chan = type(kv).get.__globals__['api'].current.channel  # the worker's pipe, past the API
    chan.send({'op': 'kv', 'fn': 'get', 'args': ['secret', None, None], 'tenant': 'victim'})
    forged = chan.recv().get('ok')
    return respond(200, json.encode({'own': kv.get('secret'), 'forged': forged}))
'''

ROGUE = '''
import os
def on_request(req):
    if req.headers['X-Case'] == 'pid':
        return respond(200, str(os.getpid()))
    chan = type(kv).get.__globals__['api'].current.channel
    chan.send({'op': 'done', 'ok': {'decision': {'kind': 'continue', 'headerEdits': {}}}})
    chan.send({'op': 'log', 'text': 'after the call'})  # a message while no call runs
    return respond(200, 'late')
'''


class IsolationTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.engine = Engine({'pid': PID, 'loop': LOOP, 'memory': MEMORY, 'syscalls': SYSCALLS, 'kv': KV, 'rogue': ROGUE},
                            ['--deadline-ms', '100'])

    @classmethod
    def tearDownClass(cls):
        code = cls.engine.stop()
        if code != 0:
            raise AssertionError(f'SIGTERM: a graceful stop exits 0, not {code}')

    def pid(self, tenant, script, case='pid'):
        a = self.engine.decide(tenant, script, [('X-Case', case)])
        self.assertEqual(a['decision'], 'respond', a)
        return int(a['body'].split(':')[0])

    def test_deadline_kills_the_worker_and_a_spare_serves_the_next_call(self):
        before = self.pid('t-deadline', 'loop')
        started = time.monotonic()
        a = self.engine.decide('t-deadline', 'loop', [('X-Case', 'loop')])
        took = time.monotonic() - started
        self.assertEqual((a['decision'], a['limit']), ('error', True), a)
        self.assertRegex(a['error'], r'loop\.py: deadline of 100 ms passed')
        self.assertLess(took, 2.0, 'the loop is stopped at its deadline')
        for _ in range(50):  # SIGKILL: gone (the kernel reaps it: the zygote ignores SIGCHLD)
            if not os.path.exists(f'/proc/{before}'):
                break
            time.sleep(0.02)
        self.assertFalse(os.path.exists(f'/proc/{before}'), 'the looping worker was killed')
        started = time.monotonic()
        after = self.pid('t-deadline', 'loop')
        self.assertNotEqual(before, after, 'a new worker')
        self.assertLess(time.monotonic() - started, 0.5, 'the next call does not wait for a fork')

    def test_the_gateways_deadline_ms_is_kept_and_includes_the_wait(self):
        a = self.engine.decide('t-asked', 'loop', [('X-Case', 'loop')], deadline_ms=30)
        self.assertEqual(a['decision'], 'error', a)
        self.assertRegex(a['error'], r'deadline of 30 ms passed')

    def test_a_worker_out_of_memory_is_a_limit_and_is_replaced(self):
        before = self.pid('t-memory', 'memory')
        a = self.engine.decide('t-memory', 'memory', [('X-Case', 'grow')])
        self.assertEqual((a['decision'], a['limit']), ('error', True), a)
        self.assertRegex(a['error'], r'memory\.py(:\d+)?: (MemoryError|deadline|the tenant\'s worker process ended)')
        after = self.engine.decide('t-memory', 'memory', [('X-Case', 'pid')])['body']
        self.assertNotEqual(str(before), after.split(':')[0], 'a new worker')
        self.assertEqual(after.split(':')[1], '0', 'with its state made again')

    def test_seccomp_denies_open_socket_exec_fork_and_signals(self):
        a = self.engine.decide('t-syscalls', 'syscalls')
        self.assertEqual(a['decision'], 'respond', a)
        seen = json.loads(a['body'])
        for call in ('open', 'open_write', 'socket', 'unix_socket', 'exec', 'fork', 'kill_parent', 'listdir'):
            self.assertEqual(seen[call], 'EPERM', f'{call}: {seen}')
        self.assertEqual(seen['environ'], [], 'a worker has no environment')
        if os.getuid() == 0:
            self.assertEqual(seen['uid'], 65534, 'a worker of an engine run as root is nobody')
        self.assertFalse(os.path.exists('/tmp/pyengine-test-escape'))

    def test_a_looping_tenant_does_not_delay_another(self):
        slow = Engine({'loop': LOOP, 'pid': PID}, ['--deadline-ms', '3000'])
        try:
            slow.decide('warm', 'pid')
            result = {}
            t = threading.Thread(target=lambda: result.update(a=slow.decide('looper', 'loop', [('X-Case', 'loop')], timeout=20)))
            t.start()
            time.sleep(0.3)  # the loop runs
            worst = 0.0
            for _ in range(20):
                started = time.monotonic()
                self.assertEqual(slow.decide('neighbour', 'pid')['decision'], 'respond')
                worst = max(worst, time.monotonic() - started)
            t.join()
            self.assertEqual((result['a']['decision'], result['a']['limit']), ('error', True))
            # behind the loop it would wait for most of its 3 s; 1.5 s leaves a starved host room
            self.assertLess(worst, 1.5, f'the neighbour waited {worst:.3f} s behind a looping tenant')
        finally:
            self.assertEqual(slow.stop(), 0)

    def test_kv_of_another_tenant_is_out_of_reach_even_through_the_pipe(self):
        self.assertEqual(self.engine.decide('victim', 'kv', [('X-Case', 'plant')])['body'], 'planted')
        seen = json.loads(self.engine.decide('thief', 'kv', [('X-Case', 'steal')])['body'])
        self.assertEqual(seen, {'own': None, 'forged': None})

    def test_a_worker_that_breaks_the_protocol_is_killed(self):
        before = self.pid('t-rogue', 'rogue')
        self.engine.decide('t-rogue', 'rogue', [('X-Case', 'forge')])
        for _ in range(50):
            if not os.path.exists(f'/proc/{before}'):
                break
            time.sleep(0.02)
        self.assertFalse(os.path.exists(f'/proc/{before}'), 'a message out of turn kills the worker')
        self.assertNotEqual(before, self.pid('t-rogue', 'rogue'))

    def test_workers_are_forked_sandboxed_and_go_with_the_engine(self):
        e = Engine({'pid': PID})
        try:
            e.decide('a', 'pid')
            pids = worker_pids(e)
            self.assertGreaterEqual(len(pids), 2, 'the worker of tenant a, and spares')
        finally:
            self.assertEqual(e.stop(), 0)
        time.sleep(0.3)
        self.assertEqual([p for p in pids if os.path.exists(f'/proc/{p}')], [], 'no worker outlives the engine')


if __name__ == '__main__':
    unittest.main()
