"""Data files (README, "Data files"): *.csv, *.json and *.txt directly in the data directory (the
scripts directory, or --data-dir), read by the main process at (re)load and given to scripts as
data(NAME), the file's text; at the top level too. Read-only (a copy of the text; the worker still
cannot open a file), updated by a reload (the top level runs again), refused above 1 MiB each or
8 MiB together or when not UTF-8 text (a reload error naming the file; at start served as failing),
and never a file outside that directory, whatever name a script or a forged message asks for.

    cd engines/python && /usr/bin/python3 -m unittest discover -s test -v
"""

import json
import os
import tempfile
import unittest

from engine_process import Engine

READER = '''
LOADED = data('rows.csv')  # the top level: the version its worker trained on
def on_request(req):
    case = req.headers['X-Case']
    name = req.headers['X-Name']
    if case == 'read':
        try:
            return respond(200, data(name))
        except Exception as e:
            return respond(200, 'error: ' + str(e))
    if case == 'loaded':
        return respond(200, LOADED)
    if case == 'json':
        return respond(200, str(json.decode(data('config.json'))['threshold']))
    if case == 'write':
        try:
            with open(name, 'w') as f:
                f.write('changed')
            return respond(200, 'wrote')
        except OSError as e:
            return respond(200, 'refused: ' + type(e).__name__)
    if case == 'forged':  # past the API: a request on the worker's pipe for a name data() refuses
        chan = data.__globals__['api'].channel
        chan.send({'op': 'data', 'name': name})
        return respond(200, json.encode(chan.recv()))
    if case == 'many':
        n = 0
        try:
            for _ in range(100):
                data('rows.csv')
                n += 1
        except Exception as e:
            return respond(200, str(n) + ' then: ' + str(e))
        return respond(200, str(n))
    if case == 'type':
        try:
            data(7)
        except Exception as e:
            return respond(200, str(e))
    return respond(200, 'no case')
'''

PLAIN = '''
def on_request(req):
    return respond(200, 'plain')
'''

ROWS = 'a,b\n1,2\n3,4\n'
MIB = 1024 * 1024


class DataFilesTest(unittest.TestCase):

    def setUp(self):
        self.engine = Engine({'reader': READER, 'plain': PLAIN},
                             files={'rows.csv': ROWS, 'config.json': '{"threshold": 0.5}', 'notes.txt': 'ünïcode\tok\n',
                                    'sub/deep.csv': 'hidden', 'script.cfg': 'not data', '.hidden.csv': 'dot'})
        with open(os.path.join(self.engine.dir, 'outside.csv'), 'w') as f:
            f.write('outside the data directory')

    def tearDown(self):
        self.assertEqual(self.engine.stop(), 0)

    def body(self, case, name='rows.csv', tenant='t1'):
        answer = self.engine.decide(tenant, 'reader', [('X-Case', case), ('X-Name', name)])
        self.assertEqual(answer['decision'], 'respond', answer)
        return answer['body']

    def reload(self):
        return self.engine.request('POST', '/reload')

    def test_scripts_read_the_files_at_the_top_level_and_in_calls(self):
        self.assertEqual(self.body('loaded'), ROWS)
        self.assertEqual(self.body('read', 'rows.csv'), ROWS)
        self.assertEqual(self.body('read', 'notes.txt'), 'ünïcode\tok\n')
        self.assertEqual(self.body('json'), '0.5')
        self.assertEqual(self.body('read', 'rows.csv', tenant='t2'), ROWS)  # every tenant's scripts: one directory

    def test_only_data_files_directly_in_the_directory(self):
        self.assertEqual(self.body('read', 'missing.csv'),
                         f"error: data: no data file 'missing.csv' in {self.engine.scripts_dir} "
                         '(data files there: config.json, notes.txt, rows.csv)')
        for name in ('../outside.csv', '/etc/passwd', 'sub/deep.csv', '.hidden.csv', 'reader.py', 'script.cfg',
                     '..', 'rows.csv/', ''):
            self.assertEqual(self.body('read', name), f"error: data: {name!r} is not a data file's name (a *.csv, *.json "
                             "or *.txt file directly in the data directory, such as 'training.csv')", name)
        self.assertEqual(self.body('type'), 'data: bad argument #1 (string expected, got number)')

    def test_a_forged_request_reaches_nothing_outside_either(self):
        for name in ('../outside.csv', '/etc/passwd', 'sub/deep.csv', '.hidden.csv', 'reader.py'):
            answer = json.loads(self.body('forged', name))
            self.assertNotIn('ok', answer, name)
            self.assertTrue(answer['error'].startswith('data: no data file '), answer)
        answer = json.loads(self.body('forged', 'rows.csv'))
        self.assertEqual(answer, {'op': 'data', 'ok': ROWS})

    def test_read_only(self):
        # The text is a copy; the worker cannot open the file (nor any other) to write it.
        self.assertEqual(self.body('write', os.path.join(self.engine.scripts_dir, 'rows.csv')), 'refused: PermissionError')
        with open(os.path.join(self.engine.scripts_dir, 'rows.csv')) as f:
            self.assertEqual(f.read(), ROWS)
        self.assertEqual(self.body('read', 'rows.csv', tenant='t2'), ROWS)

    def test_a_reload_gives_the_new_text_and_runs_the_top_level_again(self):
        self.assertEqual(self.body('loaded'), ROWS)
        self.engine.write_file('rows.csv', 'a,b\n5,6\n')
        self.engine.write_file('added.txt', 'new')
        status, answer = self.reload()
        self.assertEqual((status, answer['reloaded']), (200, True), answer)
        self.assertEqual(self.body('loaded'), 'a,b\n5,6\n')  # the same worker ran its top level again
        self.assertEqual(self.body('read', 'added.txt'), 'new')
        self.assertEqual(self.engine.decide('t1', 'plain')['body'], 'plain')

    def test_a_reload_with_a_file_above_1_mib_is_refused_naming_it(self):
        self.engine.write_file('rows.csv', 'a,b\n7,8\n')
        self.engine.write_file('big.csv', 'x' * (MIB + 1))
        status, answer = self.reload()
        self.assertEqual(status, 422, answer)
        big = os.path.join(self.engine.scripts_dir, 'big.csv')
        self.assertEqual(answer['errors'], [f'{big}: {MIB + 1} bytes, above the limit of {MIB} (1 MiB) for a data file'])
        self.assertEqual(self.body('loaded'), ROWS)  # the running version stays
        self.assertEqual(self.body('read', 'rows.csv'), ROWS)
        os.remove(big)
        self.assertEqual(self.reload()[0], 200)
        self.assertEqual(self.body('read', 'rows.csv'), 'a,b\n7,8\n')

    def test_all_together_at_most_8_mib(self):
        for i in range(9):
            self.engine.write_file(f'part{i}.txt', 'y' * 1000000)
        status, answer = self.reload()
        self.assertEqual(status, 422, answer)
        self.assertEqual(len(answer['errors']), 1, answer)
        self.assertIn('part8.txt: the data files together would pass the limit of 8388608 (8 MiB)', answer['errors'][0])
        os.remove(os.path.join(self.engine.scripts_dir, 'part8.txt'))
        self.assertEqual(self.reload()[0], 200)
        self.assertEqual(len(self.body('read', 'part7.txt')), 1000000)  # through the pipe
        self.engine.write_file('part7.txt', '"\\' * (MIB // 2))  # 1 MiB that JSON escapes all: 2 MiB on the pipe
        self.assertEqual(self.reload()[0], 200)
        self.assertEqual(self.body('read', 'part7.txt'), '"\\' * (MIB // 2))

    def test_a_file_that_is_not_text_is_refused_naming_it(self):
        self.engine.write_file('binary.csv', b'\x89PNG\r\n\x1a\n\x00')
        status, answer = self.reload()
        self.assertEqual(status, 422, answer)
        self.assertIn('binary.csv: cannot be read as UTF-8 text', answer['errors'][0])
        self.engine.write_file('binary.csv', 'a\x00b')
        status, answer = self.reload()
        self.assertIn('binary.csv: not text: control character 0x00 at character 1', answer['errors'][0])

    def test_reads_per_call_are_bounded(self):
        self.body('loaded')  # the top level's read was in this call
        self.assertEqual(self.body('many'), '64 then: data: more than 64 reads in one call (read a file once, at the top level)')


class DataFilesAtStartTest(unittest.TestCase):

    def test_a_file_refused_at_start_is_served_as_failing(self):
        e = Engine({'reader': READER}, files={'rows.csv': ROWS, 'big.json': ' ' * (MIB + 5)})
        try:
            big = os.path.join(e.scripts_dir, 'big.json')
            answer = e.decide('t', 'reader', [('X-Case', 'read'), ('X-Name', 'big.json')])
            self.assertEqual(answer['body'], f'error: data: {big}: {MIB + 5} bytes, above the limit of {MIB} (1 MiB) '
                                             'for a data file')
            self.assertEqual(e.decide('t', 'reader', [('X-Case', 'loaded')])['body'], ROWS)
            status, health = e.request('GET', '/health')
            self.assertEqual(health['failing'], [f'{big}: {MIB + 5} bytes, above the limit of {MIB} (1 MiB) for a data file'])
        finally:
            self.assertEqual(e.stop(), 0)

    def test_a_data_dir_that_cannot_be_read_stops_the_engine(self):
        with self.assertRaises(RuntimeError) as c:
            Engine({'reader': READER}, ('--data-dir', '/nonexistent-pyengine-data'))
        self.assertIn('SEVERE engine did not start: /nonexistent-pyengine-data: cannot read the data directory', str(c.exception))

    def test_data_dir_names_another_directory(self):
        with tempfile.TemporaryDirectory() as d:
            with open(os.path.join(d, 'rows.csv'), 'w') as f:
                f.write('from --data-dir\n')
            e = Engine({'reader': READER}, ('--data-dir', d), files={'rows.csv': ROWS, 'only-here.txt': 'x'})
            try:
                self.assertEqual(e.decide('t', 'reader', [('X-Case', 'loaded')])['body'], 'from --data-dir\n')
                body = e.decide('t', 'reader', [('X-Case', 'read'), ('X-Name', 'only-here.txt')])['body']
                self.assertEqual(body, f"error: data: no data file 'only-here.txt' in {d} (data files there: rows.csv)")
            finally:
                self.assertEqual(e.stop(), 0)


if __name__ == '__main__':
    unittest.main()
