"""The endpoints of docs/engine-protocol.md: POST /v1/decide, POST /v1/respond, the original
POST /route/{tenant}, GET /health and POST /reload, with the statuses and messages of
engine/EngineServer.java (400 {"error"} naming the bad field, 404 for an unknown script or
endpoint, 413 for a body over 8 MiB: a 1 MiB script_body may be 6 MiB of JSON escapes)."""

import json
import urllib.parse

from . import library, protocol, response_phase
from .fields import BadRequest, is_object
from .lanes import Failure

MAX_BODY = 8 * 1024 * 1024


def _no_constant(name):
    raise ValueError(f'{name} is not JSON')


def parse_object(data):
    try:
        body = json.loads(data.decode('utf-8'), parse_constant=_no_constant)
    except (ValueError, UnicodeDecodeError, RecursionError) as e:
        raise BadRequest(f'the body is not a JSON object: {str(e)[:200]}') from None
    if not is_object(body):
        raise BadRequest('the body is not a JSON object')
    return body


class Endpoints:
    def __init__(self, service, log):
        self.service = service
        self.log = log

    async def handle(self, req):
        path, _, query = req.target.partition('?')
        params = urllib.parse.parse_qs(query)
        method = req.method
        try:
            if path == '/health' and method == 'GET':
                return 200, self.health(params.get('scripts') == ['1'])
            if path == '/reload' and method == 'POST':
                return await self.reload()
            if path == '/v1/decide' and method == 'POST':
                return await self.decide(req)
            if path == '/v1/respond' and method == 'POST':
                return await self.respond(req)
            if path.startswith('/route/') and method == 'POST':
                tenant = path[len('/route/'):]  # as sent, as the other engines take it
                name = params['script'][0] if 'script' in params else tenant
                return await self.route(req, tenant, name)
        except BadRequest as e:
            return 400, {'error': str(e)}
        return 404, {'error': f'no such endpoint: {method} {path[:200]}'}

    def health(self, names):
        lib = self.service.library
        out = {'status': 'healthy', 'scripts': len(lib.scripts), 'scripts_version': lib.version, 'protocol': protocol.VERSION}
        if lib.failing:
            out['failing'] = lib.failing
        if names:
            out['names'] = [s.name for s in lib.scripts.values() if s.error is None]
        return out

    async def reload(self):
        try:
            lib = await self.service.reload()
        except library.LoadError as e:
            self.log(f'WARNING engine reload rejected: {"; ".join(e.errors)}')
            return 422, {'reloaded': False, 'errors': e.errors}
        self.log(f'INFO engine scripts version {lib.version}: {len(lib.scripts)} script(s)')
        return 200, {'reloaded': True, 'scripts_version': lib.version, 'scripts': len(lib.scripts)}

    def _refused(self, req):
        """A tenant refused now (its time share used up) is answered before its body is parsed,
        when the gateway names it in Keystone-Tenant: parsing a flood of 1 MB bodies first would
        cost the main process's only thread whatever the answer."""
        named = req.headers.get('keystone-tenant')
        if named is None:
            return None
        refused = self.service.refusal(named)
        if refused is None:
            return None
        return 200, protocol.error_answer(f'tenant {named}: {refused}', True)

    def _unknown(self, name):
        return 404, {'error': f"no script '{name}' in {self.service.library.dir}"}

    async def decide(self, req):
        refused = self._refused(req)
        if refused is not None:
            return refused
        body = parse_object(req.body)
        name = protocol.script_of(body)
        protocol.tenant_of(body)
        asked = protocol.deadline_of(body)
        script = self.service.script(name)
        if script is None:
            return self._unknown(name)
        request = protocol.decide_request(body)
        try:
            d, on_response = await self.service.run('decide', script, request, asked_ms=asked, size=len(req.body))
        except Failure as f:
            return 200, protocol.error_answer(str(f), f.limit)
        return 200, protocol.answer(d, on_response)

    async def respond(self, req):
        """on_response for a response head. As in Java, the whole body is checked before the script
        is looked up; a script without on_response answers the status unchanged."""
        refused = self._refused(req)
        if refused is not None:
            return refused
        body = parse_object(req.body)
        name = protocol.script_of(body)
        protocol.tenant_of(body)
        head = response_phase.head(body)
        request = protocol.decide_request(body, with_backends=False)
        request.pop('body', None)
        request.pop('body_base64', None)
        asked = protocol.deadline_of(body)
        script = self.service.script(name)
        if script is None:
            return self._unknown(name)
        try:
            edits = await self.service.run('respond', script, request, head, asked, len(req.body))
        except Failure as f:
            return 200, protocol.error_answer(str(f), f.limit)
        return 200, response_phase.unchanged(head) if edits is None else response_phase.answer(edits)

    async def route(self, req, tenant, name):
        """The original engine's endpoint: the script named like the tenant, or ?script=NAME."""
        body = parse_object(req.body)
        script = self.service.script(name)
        if script is None:
            return self._unknown(name)
        request = protocol.compat_request(tenant, body)
        if tenant == '':
            raise BadRequest('tenant: required, a non-empty string')
        try:
            d, _ = await self.service.run('compat', script, request, size=len(req.body))
        except Failure as f:
            return 500, protocol.error_answer(str(f), f.limit)
        return 200, protocol.compat_answer(d, request['backends'])
