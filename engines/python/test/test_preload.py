"""--preload MODULES: the zygote imports them (with one thread) before it builds the seccomp filter
and forks, so a script's `import numpy` is a sys.modules hit; without --preload a worker cannot
import numpy (nothing is read from disk under the filter); a module that does not import stops the
engine at start, naming it; only module names are taken. Skipped where numpy is not installed.

    cd engines/python && /usr/bin/python3 -m unittest discover -s test -v
"""

import os
import subprocess
import sys
import tempfile
import textwrap
import unittest

from engine_process import ENGINE, PYTHON, Engine, worker_pids

HAS_NUMPY = subprocess.run([PYTHON, '-c', 'import numpy'], capture_output=True).returncode == 0
ENGINE_DIR = os.path.dirname(ENGINE)

NUMPY = '''
import numpy as np
A = np.arange(16.0).reshape(4, 4) + np.eye(4) * 10
def on_request(req):
    case = req.headers['X-Case']
    if case == 'random':
        return respond(200, repr(float(np.random.random())))
    if case == 'memory':
        mib = int(req.headers['X-MiB'])
        block = np.ones(mib * 1024 * 1024 // 8)
        return respond(200, 'allocated ' + str(block.nbytes >> 20) + ' MiB')
    if case == 'other-import':
        try:
            import csv  # not preloaded, not imported by the engine: needs the disk
            return respond(200, 'imported csv')
        except BaseException as e:
            return respond(200, 'refused: ' + type(e).__name__)
    x = np.linalg.solve(A, np.ones(4))
    big = np.arange(300 * 300, dtype=float).reshape(300, 300) / 1e5
    return respond(200, json.encode({'version': np.__version__, 'x0': round(float(x[0]), 6),
                                     'product': round(float((big @ big).sum()), 3), 'repr': repr(A[:1, :2])}))
'''

TRY_IMPORT = '''
def on_request(req):
    try:
        import numpy
        return respond(200, 'imported numpy')
    except BaseException as e:
        return respond(200, 'refused: ' + type(e).__name__)
'''


def run_engine(*args, timeout=60):
    """engine.py with `args` on an empty scripts directory, expected to stop by itself: (exit code, output)."""
    with tempfile.TemporaryDirectory(prefix='pyengine-test-') as d:
        p = subprocess.run([PYTHON, ENGINE, '--scripts', d, '--listen', f'unix:{d}/engine.sock', *args],
                           capture_output=True, text=True, timeout=timeout)
        return p.returncode, p.stdout + p.stderr


def tasks(pid):
    return len(os.listdir(f'/proc/{pid}/task'))


@unittest.skipUnless(HAS_NUMPY, 'numpy is not installed for ' + PYTHON)
class PreloadTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.engine = Engine({'np': NUMPY, 'try': TRY_IMPORT}, ('--preload', 'numpy'))

    @classmethod
    def tearDownClass(cls):
        cls.engine.stop()

    def body(self, tenant, case, script='np', **headers):
        answer = self.engine.decide(tenant, script, [('X-Case', case)] + list(headers.items()))
        self.assertEqual(answer['decision'], 'respond', answer)
        return answer['body']

    def test_a_script_imports_the_preloaded_module_and_computes(self):
        import json
        out = json.loads(self.body('np-a', 'compute'))
        self.assertTrue(out['version'].startswith(('1.', '2.')), out)
        self.assertAlmostEqual(out['x0'], 0.10625, places=5)  # solve of A x = 1
        self.assertGreater(out['product'], 0)
        self.assertIn('array([[10.,  1.]])', out['repr'])
        self.assertIn("engine workers have numpy", self.engine.log())
        self.assertIn(' imported (--preload, ', self.engine.log())

    def test_a_module_not_preloaded_still_cannot_be_imported(self):
        self.assertTrue(self.body('np-b', 'other-import').startswith('refused: '))
        self.assertEqual(self.body('np-b', 'x', script='try'), 'imported numpy')

    def test_the_zygote_and_its_workers_have_one_thread(self):
        self.body('np-c', 'compute')
        zygote = subprocess.run(['pgrep', '-P', str(self.engine.proc.pid), '-f', 'zygote.py'],
                                capture_output=True, text=True).stdout.split()
        self.assertEqual(len(zygote), 1)
        self.assertEqual(tasks(zygote[0]), 1, 'the zygote')
        workers = worker_pids(self.engine)
        self.assertTrue(workers)
        for pid in workers:
            self.assertEqual(tasks(pid), 1, f'worker {pid}')

    def test_each_worker_has_its_own_numpy_random_state(self):
        a = self.body('np-rand-a', 'random')
        b = self.body('np-rand-b', 'random')
        self.assertNotEqual(a, b, 'two workers forked from one zygote drew the same number')

    def test_memory_mb_is_beyond_what_numpy_takes(self):
        # --memory-mb (48) counts from the worker's start, numpy (and a BLAS buffer) included.
        self.assertEqual(self.body('np-mem', 'memory', **{'X-MiB': '32'}), 'allocated 32 MiB')
        answer = self.engine.decide('np-mem', 'np', [('X-Case', 'memory'), ('X-MiB', '64')])
        self.assertEqual(answer['decision'], 'error', answer)
        self.assertTrue(answer['limit'], answer)
        self.assertIn('MemoryError', answer['error'])
        self.assertEqual(self.body('np-mem', 'memory', **{'X-MiB': '8'}), 'allocated 8 MiB')  # a new worker


@unittest.skipUnless(HAS_NUMPY, 'numpy is not installed for ' + PYTHON)
class SubmoduleTest(unittest.TestCase):

    def test_a_submodule_numpy_does_not_import_is_preloaded_by_its_dotted_name(self):
        script = ('def on_request(req):\n'
                  '    import numpy.lib.recfunctions as rf\n'
                  '    return respond(200, rf.__name__)\n')
        e = Engine({'sub': script}, ('--preload', 'numpy,numpy.lib.recfunctions'))
        try:
            self.assertEqual(e.decide('t', 'sub')['body'], 'numpy.lib.recfunctions')
        finally:
            self.assertEqual(e.stop(), 0)


class WithoutPreloadTest(unittest.TestCase):

    def test_without_preload_a_worker_cannot_import_numpy(self):
        e = Engine({'try': TRY_IMPORT})
        try:
            answer = e.decide('t', 'try')
            self.assertEqual(answer['decision'], 'respond', answer)
            self.assertTrue(answer['body'].startswith('refused: '), answer)
        finally:
            self.assertEqual(e.stop(), 0)


class PreloadRefusedTest(unittest.TestCase):

    def test_a_module_that_does_not_import_stops_the_engine(self):
        code, out = run_engine('--preload', 'no_such_module_xyz')
        self.assertEqual(code, 1, out)
        self.assertIn("SEVERE engine did not start: --preload no_such_module_xyz: ModuleNotFoundError: "
                      "No module named 'no_such_module_xyz'", out)
        self.assertNotIn(' serving ', out)

    def test_only_module_names_are_taken(self):
        for bad in ('../numpy', '/usr/lib/python3/dist-packages/numpy', 'numpy/linalg', 'numpy;os', '.numpy',
                    'numpy.', 'numpy,,os', 'import', 'nump y', '-m'):
            code, out = run_engine(f'--preload={bad}', timeout=20)
            self.assertEqual(code, 2, f'{bad}: {out}')
            self.assertIn('--preload: module names separated by commas', out)

    def test_a_module_that_leaves_threads_behind_is_refused(self):
        # zygote.preload in a process of its own, on a module that starts a thread when imported.
        with tempfile.TemporaryDirectory() as d:
            with open(os.path.join(d, 'spinner.py'), 'w') as f:
                f.write('import threading, time\nthreading.Thread(target=time.sleep, args=(30,), daemon=True).start()\n')
            check = textwrap.dedent(f'''
                import sys
                sys.path[:0] = [{ENGINE_DIR!r}, {d!r}]
                from pyengine.worker import zygote
                print(zygote.preload(['json']))
                print(zygote.preload(['spinner']))
            ''')
            out = subprocess.run([PYTHON, '-I', '-B', '-c', check], capture_output=True, text=True, timeout=30).stdout
        fine, refused = out.splitlines()
        self.assertIn("'preloaded': {'json': ", fine)
        self.assertIn("'error': \"--preload spinner: the engine's zygote has 2 threads", refused)


if __name__ == '__main__':
    unittest.main()
