"""A worker's life: after the sandbox is on (sandbox.enter), it reads one message at a time from the
main process and answers it. A worker serves one tenant (the main process sends it no other's
calls); it keeps the scripts it has run, each with its own globals, between calls.

Messages in: {"op": "call", "kind": "decide"|"compat"|"respond", "tenant", "script", "sid", "file",
"source" (when the worker does not have this version of the script yet), "request", "response"}
and {"op": "compile", "file", "source"} (a compile check at (re)load, in a worker of its own).
Messages out: {"op": "ready", "seccomp"}, then per call any number of {"op": "kv", ...} (each
answered) and {"op": "log", ...}, then {"op": "done", "ok": ...} or {"op": "done", "fail":
{"message", "limit", "recycle"}}; {"op": "compiled", "error"} for a compile check."""

import builtins
import gc
import sys

from ..frames import Channel, ERROR_CHARS
from . import api, decisions, helpers, phases, sandbox
from .api import ScriptError, LimitError

# The API's globals, as docs/scripting.md names them.
GLOBALS = {
    'route_to': decisions.route_to, 'respond': decisions.respond, 'reject': decisions.reject,
    'hash': helpers.hash, 'random': helpers.random, 'now': helpers.now, 'log': helpers.log,
    'json': helpers.json, 'kv': helpers.kv, 'data': helpers.data,
}


def describe(e, file):
    """{"message": "FILE:LINE: ...", "limit", "recycle"} for what a script raised: the line is the
    last frame of the traceback in the script's file (the line of the API call for an API error).
    An Exception raised as such (`raise Exception('boom')`) and an API error are shown by their
    message, any other type named ("AttributeError: ..."). RecursionError and MemoryError are
    limits; after a MemoryError the worker is replaced (its memory may stay full)."""
    try:
        line = e.lineno if isinstance(e, SyntaxError) and e.filename == file else None
        tb = e.__traceback__
        while tb is not None:
            if tb.tb_frame.f_code.co_filename == file:
                line = tb.tb_lineno
            tb = tb.tb_next
        e.__traceback__ = None
        if isinstance(e, SyntaxError) and line is not None:
            text = f'SyntaxError: {e.msg}'
        elif isinstance(e, ScriptError) or type(e) is Exception:
            text = str(e)
        else:
            name = type(e).__name__
            detail = str(e)
            text = f'{name}: {detail}' if detail else name
        where = file if line is None else f'{file}:{line}'
        message = f'{where}: {text}'
    except BaseException:  # a __str__ that fails, memory that ran out describing it
        message = f'{file}: a value that cannot be described was raised'
    limit = isinstance(e, (LimitError, RecursionError, MemoryError))
    return {'message': message[:ERROR_CHARS], 'limit': limit, 'recycle': isinstance(e, MemoryError)}


class Script:
    """One script as this worker ran it: its globals and entry points, or why it failed to load."""

    def __init__(self, sid, file, source):
        self.sid = sid
        self.file = file
        self.source = source
        self.failure = None
        self.on_request = self.on_route_request = self.on_response = None
        g = dict(GLOBALS)
        g.update({'__name__': '__keystone_script__', '__file__': file, '__builtins__': builtins})
        self.globals = g
        try:
            exec(compile(source, file, 'exec', dont_inherit=True), g)
        except BaseException as e:
            self.failure = describe(e, file)
            return
        entry = {k: g.get(k) for k in ('on_request', 'on_route_request', 'on_response')}
        self.on_request, self.on_route_request, self.on_response = (f if callable(f) else None for f in entry.values())
        if self.on_request is None and self.on_route_request is None:
            self.failure = {'message': f'{file}: defines neither on_request(req) nor on_route_request(request, backends)',
                            'limit': False, 'recycle': False}


def _hygiene():
    """What a script may have left set that would run during the next call, not its own."""
    sys.settrace(None)
    sys.setprofile(None)
    gc.callbacks.clear()
    sys.setrecursionlimit(sandbox.RECURSION_LIMIT)
    sys.stdout = sys.stderr = None


def run(channel, scripts, msg):
    """One call: the "done" message."""
    api.channel = channel  # data(NAME), at the script's top level too
    try:
        return _run(channel, scripts, msg)
    finally:
        api.channel = None


def _run(channel, scripts, msg):
    _hygiene()
    name = msg['script']
    script = scripts.get(name)
    if script is None or script.sid != msg['sid']:
        if msg.get('source') is None:
            return {'op': 'done', 'fail': {'message': f"{msg['file']}: the worker does not have this script",
                                           'limit': False, 'recycle': True}}
        script = scripts[name] = Script(msg['sid'], msg['file'], msg['source'])
    elif script.failure is not None and script.failure['limit']:
        script = scripts[name] = Script(script.sid, script.file, script.source)  # a limit at its top level last time: again
    if script.failure is not None:
        return {'op': 'done', 'fail': script.failure}
    kind = msg['kind']
    call = api.Call(channel, msg['request'], kind != 'respond')
    api.current = call
    try:
        if kind == 'respond':
            if script.on_response is None:
                return {'op': 'done', 'ok': {'unchanged': True}}
            script.on_response(phases.Response(msg['request'], msg['response'], call))
            gc.collect(1)
            return {'op': 'done', 'ok': {'edits': call.response_edits}}
        if script.on_request is not None:
            script.on_request(decisions.Request(msg['request'], call))
        else:
            phases.compat_call(script.on_route_request, call)
        out = {'op': 'done', 'ok': {'decision': call.decision(), 'on_response': script.on_response is not None}}
        # The call's cyclic garbage goes now, inside its deadline: a finalizer (__del__) of the
        # script's runs in this call, not in the next one.
        gc.collect(1)
        return out
    except BaseException as e:
        return {'op': 'done', 'fail': describe(e, script.file)}
    finally:
        api.current = None


def compile_check(file, source):
    """None when the source compiles, else "FILE:LINE: SyntaxError: ..." (or why not)."""
    try:
        compile(source, file, 'exec', dont_inherit=True)
        return None
    except SyntaxError as e:
        text = f'{file}:{e.lineno}: SyntaxError: {e.msg}' if e.lineno else f'{file}: SyntaxError: {e.msg}'
        return text[:ERROR_CHARS]
    except BaseException as e:
        return describe(e, file)['message']


def serve(rfd, wfd, seccomp_on):
    channel = Channel(rfd, wfd)
    channel.send({'op': 'ready', 'seccomp': seccomp_on})
    scripts = {}
    gc.collect()
    while True:
        try:
            msg = channel.recv()
        except EOFError:
            return
        op = msg.get('op')
        if op == 'call':
            out = run(channel, scripts, msg)
        elif op == 'compile':
            out = {'op': 'compiled', 'error': compile_check(msg['file'], msg['source'])}
        else:
            return
        try:
            channel.send(out)
        except (TypeError, ValueError):  # the script put something into its answer that is not JSON
            channel.send({'op': 'done', 'fail': {'message': f"{msg.get('file')}: the script's answer cannot be sent",
                                                 'limit': False, 'recycle': True}})
