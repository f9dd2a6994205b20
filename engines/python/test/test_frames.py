"""What the main process accepts from a worker's pipe (attack s16py): a frame whose parse would
cost the main process far more than its size (millions of tiny containers, F1), or that nests
past the parser's recursion (F2), is a protocol error (the worker is killed), not seconds of the
only thread or a traceback per frame; a kv request with numbers no store can hold is the script's
error (F3), not a call left hanging.

    cd engines/python && /usr/bin/python3 -m unittest discover -s test -v
"""

import json
import struct
import sys
import unittest
from unittest import mock

sys.path.insert(0, __file__.rsplit('/test/', 1)[0])

from pyengine import frames  # noqa: E402
from pyengine.frames import FrameError, FrameReader  # noqa: E402
from engine_process import Engine  # noqa: E402


def frame(payload):
    return struct.pack('>I', len(payload)) + payload


KV_OVERFLOW = '''
def on_request(req):
    chan = type(kv).get.__globals__['api'].current.channel  # the worker's pipe, past the API
    chan.send({'op': 'kv', 'fn': 'set', 'args': ['k', 10 ** 400, 0]})
    first = chan.recv()
    chan.send({'op': 'kv', 'fn': 'set', 'args': ['k', 1, 1e308]})
    second = chan.recv()
    return respond(200, json.encode([first, second]))
'''


class FrameLimitsTest(unittest.TestCase):
    def test_a_frame_of_many_tiny_containers_is_refused_before_it_is_parsed(self):
        # (s17py: a frame's tokens are counted first, its objects and lists with them)
        payload = b'{"op":"done","ok":[' + b'{},' * 100000 + b'{}]}'
        with self.assertRaisesRegex(FrameError, r'\d+ JSON values or more in a frame, above the limit of 4096'):
            FrameReader().feed(frame(payload))
        payload = b'{"op":"done","ok":[' + b'[],' * 1100 + b'[]]}'
        with self.assertRaisesRegex(FrameError, r'\d+ JSON objects or lists in a frame, above the limit of 1024'):
            FrameReader().feed(frame(payload))

    def test_a_frame_nested_past_the_parser_is_refused_not_raised(self):
        with self.assertRaisesRegex(FrameError, r'\d+ JSON objects or lists in a frame, above the limit of 1024'):
            FrameReader().feed(frame(b'{"op":"done","ok":' + b'[' * 1200))
        with self.assertRaisesRegex(FrameError, r'not a message'):
            FrameReader().feed(frame(b'[' * 1200))
        with self.assertRaisesRegex(FrameError, r'nested too deeply'):
            FrameReader().feed(frame(b'{"op":"done","ok":' + b'[' * 1000 + b']' * 1000 + b'}'))

    def test_brackets_inside_strings_are_text_and_a_decision_passes(self):
        body = '{[' * 300000 + ' "quoted\\" [still text]" '
        msg = {'op': 'done', 'ok': {'decision': {'kind': 'respond', 'status': 200, 'body': body,
                                                 'headers': {f'X-{i}': 'v' for i in range(100)}}}}
        out = FrameReader().feed(frame(json.dumps(msg, separators=(',', ':')).encode()))
        self.assertEqual(out, [msg])


MiB = 1 << 20


class Counted:
    """Wraps the scanner's primitives (frames._find, _count, _scanstring: each runs in C, in time
    linear in the characters it is given) and adds up those characters: the scanner's steps."""

    def __init__(self):
        self.steps = 0
        self.calls = 0

    def __enter__(self):
        real_find, real_count, real_scan = frames._find, frames._count, frames._scanstring

        def find(s, sub, start=0, end=None):
            end = len(s) if end is None else end
            r = real_find(s, sub, start, end)
            self.calls += 1
            self.steps += (end if r < 0 else r + 1) - start
            return r

        def count(s, sub, start=0, end=None):
            end = len(s) if end is None else end
            self.calls += 1
            self.steps += end - start
            return real_count(s, sub, start, end)

        def scan(s, start, strict=True):
            self.calls += 1
            try:
                out = real_scan(s, start, strict)
            except ValueError:
                self.steps += len(s) - start  # (it read to the end, at most)
                raise
            self.steps += out[1] - start
            return out

        self.patches = [mock.patch.object(frames, '_find', find), mock.patch.object(frames, '_count', count),
                        mock.patch.object(frames, '_scanstring', scan)]
        for p in self.patches:
            p.start()
        return self

    def __exit__(self, *exc):
        for p in self.patches:
            p.stop()


class FrameScanTest(unittest.TestCase):
    """Attack s17py F1: the check of a worker's frame ran a regular expression from every quote of an
    unterminated string to its end (quadratic: 60 KB of escaped quotes froze the main process 9 s).
    The scan now looks at each character a bounded number of times, whatever the frame: counted
    here, not timed."""

    HOSTILE = {
        'an unterminated string of escaped quotes': b'{"op":"done","ok":"' + b'\\"' * 400000,
        'the attack\'s raw frame': b'"' + b'\\"' * 400000,
        'a string of backslash pairs, unterminated': b'{"op":"done","ok":"' + b'\\\\' * 400000,
        'many empty strings': b'{"op":"done","ok":[' + b'"",' * 400000 + b'""]}',
        'strings side by side': b'{"op":"done","ok":' + b'""' * 400000 + b'}',
        'a flat list of numbers': b'{"op":"done","ok":[' + b'1.0,' * 400000 + b'1]}',
        'a flat object': b'{"op":"done","ok":{' + b''.join(b'"%d":0,' % i for i in range(200000)) + b'"z":0}}',
    }

    def test_hostile_frames_are_refused_in_a_number_of_steps_linear_in_their_size(self):
        for name, payload in self.HOSTILE.items():
            with self.subTest(name), Counted() as c:
                with self.assertRaises(FrameError):
                    FrameReader().feed(frame(payload))
                self.assertLessEqual(c.steps, 6 * len(payload) + 100, f'{name}: {c.steps} steps for {len(payload)} bytes')
                # the loop in Python: once per string (at most the tokens allowed) and per CHUNK outside strings
                self.assertLessEqual(c.calls, 6 * frames.DONE_TOKENS + 4 * (len(payload) // frames.CHUNK) + 100, name)

    def test_a_legitimate_decision_is_scanned_in_linear_steps_too(self):
        body = '\\"\U0001F600{[,:' * 100000
        msg = {'op': 'done', 'ok': {'decision': {'kind': 'respond', 'status': 200, 'body': body,
                                                 'headers': {f'X-{i}': '"\\' * 100 for i in range(100)}}}}
        payload = json.dumps(msg, separators=(',', ':')).encode()
        with Counted() as c:
            self.assertEqual(FrameReader().feed(frame(payload)), [msg])
        self.assertLessEqual(c.steps, 6 * len(payload) + 100)


class FrameSizeTest(unittest.TestCase):
    """Attack s17py F2: frames of 16 MiB of "1.0," (or a dict of 1.5 million keys) sent as a log line
    were parsed (hundreds of MB, 350 ms of the main process each) before any limit applied. Each
    message has the size and the number of JSON values the API can need, checked on the frame's
    first bytes (its size and its "op") and before it is parsed."""

    def test_a_frame_larger_than_its_message_can_be_is_refused_from_its_first_bytes(self):
        for op, size in (('log', 16 * MiB - 64), ('log', 64 * 1024), ('kv', 2 * MiB), ('data', 64 * 1024),
                         ('ready', 4096), ('compiled', MiB), ('done', 16 * MiB + 1)):
            with self.subTest(op=op, size=size):
                head = struct.pack('>I', size) + f'{{"op":"{op}","text":"'.encode()
                with self.assertRaisesRegex(FrameError, 'above the limit'):
                    FrameReader().feed(head)  # the rest has not arrived

    def test_a_frame_that_is_not_a_message_is_refused_from_its_first_bytes(self):
        for head in (b'"\\"\\"\\"', b'[1.0,1.0,1.0,1.0,1.0', b'{"op":"evil","x":1', b'{"text":"x","op":"log"', b'{"op": "log"'):
            with self.subTest(head=head):
                with self.assertRaisesRegex(FrameError, 'not a message'):
                    FrameReader().feed(struct.pack('>I', 1000) + head)

    def test_many_values_in_one_frame_are_refused_before_it_is_parsed(self):
        cases = [b'{"op":"done","ok":[' + b'1.0,' * 500000 + b'1.0]}',
                 b'{"op":"done","ok":{' + b''.join(b'"%d":0,' % i for i in range(100000)) + b'"z":0}}',
                 b'{"op":"kv","fn":"get","args":[' + b'0,' * 1000 + b'0]}',
                 b'{"op":"log","text":"x","pad":[' + b'1,' * 1000 + b'1]}']
        for payload in cases:
            with self.subTest(payload[:30]), mock.patch.object(frames.json, 'loads', side_effect=AssertionError('parsed')):
                with self.assertRaisesRegex(FrameError, 'JSON values'):
                    FrameReader().feed(frame(payload))

    def test_a_frame_that_repeats_op_is_refused(self):
        with self.assertRaisesRegex(FrameError, 'op'):
            FrameReader().feed(frame(b'{"op":"log","text":"x","op":"done"}'))

    def test_a_route_over_many_backends_fits_the_calls_allowance(self):
        names = [f'b{i}' for i in range(5000)]
        msg = {'op': 'done', 'ok': {'decision': {'kind': 'route', 'target': '{a=b}', 'backends': names,
                                                 'headerEdits': {}}, 'on_response': False}}
        data = frame(json.dumps(msg, separators=(',', ':')).encode())
        with self.assertRaisesRegex(FrameError, 'JSON values'):
            FrameReader().feed(data)
        reader = FrameReader()
        reader.allow_backends(len(names))
        self.assertEqual(reader.feed(data), [msg])


class ApiFramesTest(unittest.TestCase):
    """What the script API sends at its limits fits the limits of the main process's reader (so a
    script that means well gets its error at its line, never a killed worker), and what is past
    them is refused in the worker before it is sent."""

    class Channel:
        def __init__(self):
            self.sent = []

        def send(self, obj):
            self.sent.append(frames.encode(obj))

        def recv(self):
            return {'op': json.loads(self.sent[-1][4:])['op'], 'ok': None}

    def setUp(self):
        from pyengine.worker import api
        self.api = api
        self.request = {'tenant': 't', 'method': 'GET', 'path': '/', 'raw_path': '/', 'headers': [],
                        'backends': [{'name': f'b{i}', 'url': 'http://x', 'healthy': True, 'weight': 1,
                                      'labels': {'a': 'b'}} for i in range(3000)]}

    def run_call(self, fn):
        chan = self.Channel()
        self.api.current = self.api.Call(chan, self.request, True)
        self.api.channel = chan
        try:
            fn()
            return chan.sent
        finally:
            self.api.current = self.api.channel = None

    def read(self, sent, backends=0):
        reader = FrameReader()
        reader.allow_backends(backends)
        return [m for f in sent for m in reader.feed(f)]

    def test_the_largest_kv_and_log_messages_are_accepted(self):
        from pyengine.worker import helpers
        astral = '\U0001F600'
        sent = self.run_call(lambda: (
            helpers.kv.set(astral * 256, astral * 65536, 1e300),
            helpers.kv.incr('n', 10 ** 4000, 10 ** 4000),
            helpers.log(astral * 5000, {'x': [astral] * 5000}),
            helpers.data('x' * 240 + '.csv')))
        self.assertEqual(len(sent), 4)
        self.assertEqual([m['op'] for m in self.read(sent)], ['kv', 'kv', 'log', 'data'])

    def test_kv_past_its_limits_is_refused_in_the_worker(self):
        from pyengine.worker import helpers
        for fn in (lambda: helpers.kv.set('k', 'x' * 65537), lambda: helpers.kv.set('k' * 257, 'v'),
                   lambda: helpers.kv.get('k' * 257), lambda: helpers.kv.incr('k' * 257),
                   lambda: helpers.kv.delete('\U0001F600' * 10 ** 6)):
            with self.assertRaisesRegex(self.api.ScriptError, 'kv (value above 65536 bytes|keys are 1 to 256 characters)'):
                self.run_call(fn)

    def test_the_largest_decisions_are_accepted(self):
        from pyengine.worker import decisions
        from pyengine.worker.loop import describe
        astral = '\U0001F600'
        headers = {f'X-{i:03d}': astral * 640 for i in range(50)}  # with the request's edits below: 100, 64,600 characters
        call = self.api.current = self.api.Call(None, self.request, True)
        try:
            decisions.respond(200, astral * MiB, headers)  # a body of 1 MiB characters, 12 MiB escaped
            for i in range(50):
                call.edit(call.edits['headerEdits'], f'X-Req-{i:03d}', astral * 640)
            respond = {'op': 'done', 'ok': {'decision': call.decision(), 'on_response': False}}
            decisions.route_to({'a': 'b'})  # every one of the 3,000 backends
            route = {'op': 'done', 'ok': {'decision': call.decision(), 'on_response': True}}
        finally:
            self.api.current = None
        self.assertEqual(len(route['ok']['decision']['backends']), 3000)
        failure = {'op': 'done', 'fail': describe(ValueError(astral * 10 ** 5), 'x.py')}
        compiled = {'op': 'compiled', 'error': describe(SyntaxError(astral * 10 ** 5), 'x.py')['message']}
        out = self.read([frames.encode(m) for m in (respond, route, failure, compiled)], backends=3000)
        self.assertEqual([m['op'] for m in out], ['done', 'done', 'done', 'compiled'])


class KvNumbersTest(unittest.TestCase):
    def test_numbers_no_store_holds_are_the_scripts_error(self):
        e = Engine({'kvover': KV_OVERFLOW})
        try:
            a = e.decide('t', 'kvover')
            self.assertEqual(a['decision'], 'respond', a)
            first, second = json.loads(a['body'])
            self.assertRegex(first['error'], r'^kv: ')
            self.assertRegex(second['error'], r'^kv: ')
        finally:
            self.assertEqual(e.stop(), 0)


if __name__ == '__main__':
    unittest.main()
