"""The main process, against the real engine over its unix socket: the protocol's errors, a reload
(HTTP and SIGHUP) with a broken, a huge and a deeply nested script, a slow client that does not
hold up the others, the time share, a zygote that dies and is replaced.

    cd engines/python && /usr/bin/python3 -m unittest discover -s test -v
"""

import os
import signal
import socket
import subprocess
import threading
import time
import unittest

from engine_process import Engine

DECIDE = '''
def on_request(req):
    return route_to('stable')
'''
BURN = '''
def on_request(req):
    while True:
        pass
'''


class ServerTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.engine = Engine({'decide': DECIDE, 'burn': BURN})

    @classmethod
    def tearDownClass(cls):
        code = cls.engine.stop()
        if code != 0:
            raise AssertionError(f'SIGTERM: a graceful stop exits 0, not {code}')

    def test_bad_requests_name_the_field(self):
        e = self.engine
        status, a = e.request('POST', '/v1/decide', b'not json')
        self.assertEqual(status, 400)
        self.assertIsInstance(a['error'], str)
        body = {'tenant': 't', 'script': 'decide', 'request': {'method': 'GET', 'path': '/', 'headers': [['X-A', 5]]}}
        status, a = e.request('POST', '/v1/decide', body)
        self.assertEqual(status, 400)
        self.assertIn('headers', a['error'])
        status, a = e.request('POST', '/v1/decide', dict(body, script='nope'))
        self.assertEqual(status, 404)
        status, a = e.request('POST', '/v1/decide', {**body, 'request': {'method': 'GET', 'path': '/'}, 'deadline_ms': True})
        self.assertEqual(status, 400)
        self.assertIn('deadline_ms', a['error'])
        self.assertEqual(e.request('GET', '/v1/decide')[0], 404)
        status, a = e.request('POST', '/v1/decide', b' ' * (8 * 1024 * 1024 + 1))
        self.assertEqual(status, 413)

    def test_a_slow_client_holds_up_no_one(self):
        s = socket.socket(socket.AF_UNIX)
        s.connect(self.engine.socket)
        s.sendall(b'POST /v1/decide HTTP/1.1\r\nContent-Length: 1000\r\n\r\n{"tenant"')  # and then nothing
        started = time.monotonic()
        a = self.engine.decide('fast', 'decide')
        self.assertEqual(a['backends'], ['stable'])
        self.assertLess(time.monotonic() - started, 3)  # held up, it would wait for the client for good
        s.close()

    def test_reload_refuses_broken_huge_and_nested_scripts_naming_them(self):
        e = self.engine
        version = e.request('GET', '/health')[1]['scripts_version']
        for name, source, pattern in [
            ('broken', 'def on_request(req):\n    x = = 1\n', r'broken\.py:2: SyntaxError'),
            ('huge', DECIDE + '#' + 'x' * (1024 * 1024) + '\n', r'huge\.py: \d+ bytes, above the limit'),
            ('nested', 'x = ' + '(' * 5000 + '1' + ')' * 5000 + '\n' + DECIDE, r'nested\.py(:\d+)?: '),
        ]:
            e.write(name, source)
            try:
                status, a = e.request('POST', '/reload')
                self.assertEqual(status, 422, a)
                self.assertEqual(len(a['errors']), 1, a)
                self.assertRegex(a['errors'][0], pattern)
                self.assertEqual(e.decide('t', 'decide')['backends'], ['stable'], 'the old scripts keep serving')
            finally:
                os.unlink(os.path.join(e.scripts_dir, f'{name}.py'))
        self.assertEqual(e.request('GET', '/health')[1]['scripts_version'], version)
        status, a = e.request('POST', '/reload')
        self.assertEqual((status, a['scripts_version']), (200, version + 1))

    def test_many_names_compile_without_holding_up_the_others(self):
        e = self.engine
        e.write('many', DECIDE + 'x = 1\n' + ''.join(f'_{i} = 1\n' for i in range(65000)))
        try:
            done = []
            t = threading.Thread(target=lambda: done.append(e.request('POST', '/reload', timeout=30)))
            t.start()
            started = time.monotonic()
            self.assertEqual(e.decide('neighbour', 'decide')['backends'], ['stable'])
            self.assertLess(time.monotonic() - started, 1)
            t.join()
            self.assertIn(done[0][0], (200, 422))
        finally:
            os.unlink(os.path.join(e.scripts_dir, 'many.py'))
            e.request('POST', '/reload')

    def test_sighup_reloads(self):
        e = self.engine
        version = e.request('GET', '/health')[1]['scripts_version']
        e.proc.send_signal(signal.SIGHUP)
        for _ in range(100):
            if e.request('GET', '/health')[1]['scripts_version'] == version + 1:
                break
            time.sleep(0.05)
        self.assertEqual(e.request('GET', '/health')[1]['scripts_version'], version + 1)

    def test_a_tenant_burning_its_deadlines_runs_out_of_its_time_share(self):
        errors = []
        for _ in range(60):
            a = self.engine.decide('burner', 'burn')
            errors.append(a['error'])
            if 'time share' in a['error']:
                break
        self.assertIn('time share', errors[-1])
        self.assertEqual(self.engine.decide('light', 'decide')['backends'], ['stable'])

    def test_a_dead_zygote_is_replaced(self):
        e = self.engine
        zygote = subprocess.run(['pgrep', '-P', str(e.proc.pid), '-f', 'zygote.py'], capture_output=True, text=True).stdout.split()
        self.assertEqual(len(zygote), 1)
        os.kill(int(zygote[0]), signal.SIGKILL)
        time.sleep(0.2)
        for i in range(4):  # new tenants: spares, then new forks from a new zygote
            self.assertEqual(e.decide(f'after-zygote-{i}', 'decide')['backends'], ['stable'])
        self.assertIn('zygote exited', e.log())


if __name__ == '__main__':
    unittest.main()
