"""Script parameters (docs/engine-protocol.md, "Script parameters"): the main process's checks of
`params` (an object, 16 levels, finite numbers, 64 KiB of compact UTF-8 JSON; 400 naming params),
and, against the real engine, req.params / res.params as scripts see them: read-only dicts (lists
as tuples) that a write raises on, an empty dict without params, never another call's or tenant's.

    cd engines/python && /usr/bin/python3 -m unittest discover -s test -v
"""

import json
import sys
import threading
import unittest

sys.path.insert(0, __file__.rsplit('/test/', 1)[0])

from pyengine import protocol  # noqa: E402
from pyengine.fields import BadRequest  # noqa: E402
from engine_process import Engine  # noqa: E402

PARAMS = {'limit': 100, 'header': 'X-API-Key', 'list': ['a', {'b': [1, 2]}], 'nested': {'flag': True, 'none': None}, 'ünï': 'ç'}

ECHO = '''
import json as plain
def describe(p):
    return {'type': type(p).__name__, 'is_dict': isinstance(p, dict), 'len': len(p), 'json': json.encode(p),
            'list_type': type(p.get('list')).__name__, 'by_attribute': getattr(p, 'limit', None)}
def on_request(req):
    case = req.headers['X-Case']
    p = req.params
    if case == 'write':
        p['limit'] = 5
    if case == 'write-attribute':
        p.limit = 5
    if case == 'write-nested':
        p['list'][1]['b'] = ()
    if case == 'write-list':
        p['list'][0] = 'z'
    if case == 'delete':
        del p['limit']
    if case == 'update':
        p.update(limit=5)
    if case == 'merge':
        p |= {'limit': 5}
    if case == 'caught':
        try:
            p['limit'] = 5
        except TypeError as e:
            return respond(200, 'refused: ' + str(e) + '; limit ' + str(p.get('limit')))
    if case == 'default':
        return respond(200, str(req.params.get('limit', 10)))
    return respond(200, plain.dumps(describe(p)))
def on_response(res):
    if res.headers['X-Case'] == 'write':
        res.params['limit'] = 5
    res.set_header('X-Seen', json.encode(res.params))
'''

LEGACY = '''
def on_route_request(request, backends):
    return {'selected_backend': 'stable'}
'''


def nested(levels):
    """Objects nested `levels` deep, counting the outermost."""
    v = {'d': 1}
    for _ in range(levels - 1):
        v = {'d': v}
    return v


class ParamsOfTest(unittest.TestCase):
    """protocol.params_of, the main process's checks."""

    def refused(self, params, message):
        with self.assertRaises(BadRequest) as c:
            protocol.params_of({'params': params})
        self.assertEqual(str(c.exception), message)

    def test_absent_params_give_nothing_to_copy(self):
        self.assertEqual(protocol.params_of({}), {})

    def test_an_object_of_any_json_values_is_taken_as_it_is(self):
        self.assertEqual(protocol.params_of({'params': PARAMS}), {'params': PARAMS})
        self.assertEqual(protocol.params_of({'params': {}}), {'params': {}})

    def test_anything_but_an_object_is_refused_null_too(self):
        for bad in ('limit=100', [1], [], 5, 1.5, True, None):
            self.refused(bad, 'params: a JSON object expected')

    def test_16_levels_are_accepted_17_refused(self):
        protocol.params_of({'params': nested(16)})
        protocol.params_of({'params': {'a': [[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]}})  # 1 + 15 lists
        self.refused(nested(17), 'params: nested deeper than 16 levels')
        self.refused({'a': [[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]}, 'params: nested deeper than 16 levels')

    def test_at_most_64_KiB_of_compact_utf8_json(self):
        # {"h":"..."} is 8 bytes around the value
        protocol.params_of({'params': {'h': 'x' * (65536 - 8)}})
        self.refused({'h': 'x' * (65536 - 7)}, 'params: larger than 65536 bytes')
        protocol.params_of({'params': {'h': 'é' * ((65536 - 8) // 2)}})  # bytes, not characters
        self.refused({'h': 'é' * 30000 + 'x' * 6000}, 'params: larger than 65536 bytes')
        self.refused({'h': 'x' * (8 << 20)}, 'params: larger than 65536 bytes')

    def test_a_number_no_double_holds_is_refused(self):
        self.refused(json.loads('{"a": 1e400}'), 'params: a number out of range')
        self.refused({'a': [10 ** 400]}, 'params: a number out of range')
        protocol.params_of({'params': {'a': 10 ** 300, 'b': 1e300, 'c': -0.0}})

    def test_decide_and_respond_requests_carry_them_the_original_format_does_not(self):
        body = {'tenant': 't', 'script': 's', 'request': {'method': 'GET', 'path': '/'}, 'params': {'limit': 1}}
        self.assertEqual(protocol.decide_request(body)['params'], {'limit': 1})
        self.assertEqual(protocol.decide_request(body, with_backends=False)['params'], {'limit': 1})
        self.assertNotIn('params', protocol.decide_request({k: v for k, v in body.items() if k != 'params'}))
        self.assertNotIn('params', protocol.compat_request('t', {'method': 'GET', 'params': {'limit': 1}}))


class ParamsEngineTest(unittest.TestCase):
    """What scripts see, against the real engine."""

    @classmethod
    def setUpClass(cls):
        cls.engine = Engine({'echo': ECHO, 'legacy': LEGACY})

    @classmethod
    def tearDownClass(cls):
        code = cls.engine.stop()
        if code != 0:
            raise AssertionError(f'SIGTERM: a graceful stop exits 0, not {code}')

    def seen(self, tenant, params=None, case='echo'):
        extra = {} if params is None else {'params': params}
        a = self.engine.decide(tenant, 'echo', headers=[('X-Case', case)], **extra)
        self.assertEqual(a['decision'], 'respond', a)
        return a['body'] if case != 'echo' else json.loads(a['body'])

    def respond(self, tenant, params=None, case='echo'):
        body = {'tenant': tenant, 'script': 'echo', 'request': {'method': 'GET', 'path': '/'},
                'response': {'status': 200, 'headers': [['X-Case', case]]}}
        if params is not None:
            body['params'] = params
        status, a = self.engine.request('POST', '/v1/respond', body)
        self.assertEqual(status, 200, a)
        return a

    def test_req_params_is_a_read_only_dict_with_lists_as_tuples(self):
        s = self.seen('t1', PARAMS)
        self.assertEqual(s, {'type': 'Record', 'is_dict': True, 'len': 5, 'json': json.dumps(PARAMS, ensure_ascii=False, separators=(',', ':')),
                             'list_type': 'tuple', 'by_attribute': 100})

    def test_without_params_an_empty_dict(self):
        self.assertEqual(self.seen('t1'), {'type': 'Record', 'is_dict': True, 'len': 0, 'json': '{}', 'list_type': 'NoneType',
                                           'by_attribute': None})
        self.assertEqual(self.seen('t1', case='default'), '10')
        self.assertEqual(self.seen('t1', {'limit': 7}, case='default'), '7')

    def test_a_write_raises_at_its_line(self):
        lines = {'write': 10, 'write-attribute': 12, 'write-nested': 14, 'write-list': 16, 'delete': 18, 'update': 20, 'merge': 22}
        for case, line in lines.items():
            a = self.engine.decide('t1', 'echo', headers=[('X-Case', case)], params=PARAMS)
            self.assertEqual(a['decision'], 'error', (case, a))
            self.assertRegex(a['error'], rf'echo\.py:{line}: TypeError: ', case)
            self.assertFalse(a['limit'])
        self.assertEqual(self.seen('t1', {'limit': 3}, case='caught'), 'refused: this table is read-only; limit 3')
        a = self.respond('t1', PARAMS, case='write')
        self.assertEqual(a['decision'], 'error', a)
        self.assertRegex(a['error'], r'echo\.py:33: TypeError: ')

    def test_res_params(self):
        self.assertEqual(json.loads(self.respond('t2', PARAMS)['headers']['X-Seen']), PARAMS)
        self.assertEqual(self.respond('t2')['headers']['X-Seen'], '{}')

    def test_no_leak_between_calls_of_one_tenant(self):
        for _ in range(2):
            self.assertEqual(self.seen('t3', {'limit': 100})['by_attribute'], 100)
            self.assertEqual(self.seen('t3')['len'], 0)
            self.engine.decide('t3', 'echo', headers=[('X-Case', 'write')], params={'limit': 100})
            self.assertEqual(self.seen('t3')['json'], '{}')
            self.assertEqual(self.respond('t3', {'limit': 100})['headers']['X-Seen'], '{"limit":100}')
            self.assertEqual(self.respond('t3')['headers']['X-Seen'], '{}')

    def test_no_leak_between_tenants_calling_at_once(self):
        answers = {}

        def call(i):
            params = None if i % 3 == 0 else {'id': i}
            answers[i] = self.seen(f'par-{i % 4}', params)['json']

        threads = [threading.Thread(target=call, args=(i,)) for i in range(24)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for i in range(24):
            self.assertEqual(answers[i], '{}' if i % 3 == 0 else f'{{"id":{i}}}', i)

    def test_bad_params_are_400_naming_params_on_both_endpoints(self):
        for bad in ('x', [1], None, 5, True, nested(17), {'h': 'x' * 70000}):
            body = {'tenant': 't', 'script': 'echo', 'request': {'method': 'GET', 'path': '/'}, 'params': bad}
            status, a = self.engine.request('POST', '/v1/decide', body)
            self.assertEqual(status, 400, (bad, a))
            self.assertTrue(a['error'].startswith('params: '), a)
            status, a = self.engine.request('POST', '/v1/respond', {**body, 'response': {'status': 200}})
            self.assertEqual(status, 400, (bad, a))
            self.assertTrue(a['error'].startswith('params: '), a)
        status, a = self.engine.request('POST', '/v1/decide', {'tenant': 't', 'script': 'nope', 'request': {'method': 'GET', 'path': '/'},
                                                               'params': 'x'})
        self.assertEqual(status, 404, a)  # an unknown script first, as for the request's other fields

    def test_the_original_format_ignores_params(self):
        status, a = self.engine.request('POST', '/route/t?script=echo', {'method': 'GET', 'path': '/', 'params': PARAMS,
                                                                         'headers': {'X-Case': 'echo'}})
        self.assertEqual(status, 200, a)
        self.assertEqual(json.loads(a['reject_reason'])['json'], '{}')
        status, a = self.engine.request('POST', '/route/t?script=legacy', {'method': 'GET', 'path': '/', 'params': 'not an object',
                                                                           'backends': [{'name': 'stable', 'url': 'http://a:1'}]})
        self.assertEqual((status, a), (200, {'selected_backend': 'stable'}))

    def test_params_of_almost_64_KiB_of_small_values_are_frozen_within_the_deadline(self):
        big = {f'k{i}': [i, {'v': 'x'}] for i in range(2500)}
        self.assertLess(len(json.dumps(big, separators=(',', ':'))), 65536)
        self.assertEqual(self.seen('t4', big)['len'], 2500)  # 50 ms of CPU in the worker, freezing included


if __name__ == '__main__':
    unittest.main()
