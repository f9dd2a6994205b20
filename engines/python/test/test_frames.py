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

sys.path.insert(0, __file__.rsplit('/test/', 1)[0])

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
        payload = b'{"op":"log","text":[' + b'{},' * 100000 + b'{}]}'
        with self.assertRaisesRegex(FrameError, r'100003 JSON objects or lists, above the limit of 1024'):
            FrameReader().feed(frame(payload))

    def test_a_frame_nested_past_the_parser_is_refused_not_raised(self):
        with self.assertRaisesRegex(FrameError, r'1200 JSON objects or lists'):
            FrameReader().feed(frame(b'[' * 1200))
        with self.assertRaisesRegex(FrameError, r'nested too deeply'):
            FrameReader().feed(frame(b'[' * 1000 + b']' * 1000))

    def test_brackets_inside_strings_are_text_and_a_decision_passes(self):
        body = '{[' * 300000 + ' "quoted\\" [still text]" '
        msg = {'op': 'done', 'ok': {'decision': {'kind': 'respond', 'status': 200, 'body': body,
                                                 'headers': {f'X-{i}': 'v' for i in range(100)}}}}
        out = FrameReader().feed(frame(json.dumps(msg).encode()))
        self.assertEqual(out, [msg])


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
