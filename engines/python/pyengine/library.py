"""The scripts the engine serves: every *.py directly in one directory (not its subdirectories), by
name (the file name without .py). Immutable; a reload builds a new library and keeps the old one
when any script fails. Mirrors engine/ScriptLibrary.java and the Node.js engine's lib/library.js.

The main process never compiles a script: CPython's compiler is not made for hostile input (deep
nesting, huge files), so each source is checked in a worker of its own (sandboxed as any worker,
with more memory), at most CHECK_MS each: a script slow to compile delays the reload, never
another tenant's call, and is refused with an error naming it. A file above 1 MiB is refused unread."""

import asyncio
import hashlib
import os

MAX_SCRIPT_BYTES = 1024 * 1024
CHECK_MS = 2000
COMPILER_MEMORY_MB = 512


class LoadError(Exception):
    def __init__(self, errors):
        super().__init__('\n'.join(errors))
        self.errors = errors


class Script:
    """One script: `sid` names this version of it (file and source), so a worker that ran it keeps
    its globals across a reload that did not change it. `error`: why it did not load (start-up
    only: then every call of it is an error answer)."""

    def __init__(self, name, file, source, error=None):
        self.name = name
        self.file = file
        self.source = source
        self.error = error
        self.sid = hashlib.sha256(f'{file}\0{source}'.encode('utf-8', 'replace')).hexdigest()[:24]


class Library:
    def __init__(self, directory, scripts, version, failing):
        self.dir = directory
        self.scripts = scripts
        self.version = version
        self.failing = failing


class Compiler:
    """Compile checks in a worker process, one script at a time, each with its own time limit."""

    def __init__(self, pool):
        self.pool = pool
        self.worker = None
        self.answer = None

    def message(self, worker, msg):
        if self.answer is not None and not self.answer.done() and msg.get('op') == 'compiled':
            self.answer.set_result(msg.get('error'))
        else:
            worker.kill()

    def ended(self, worker):
        if worker is self.worker:
            self.worker = None
        if self.answer is not None and not self.answer.done():
            self.answer.set_exception(RuntimeError('the compiler stopped'))

    async def check(self, file, source, limit_ms):
        """None when `source` compiles, else the error, naming `file` (and the line)."""
        if self.worker is None:
            w = await self.pool.fork(COMPILER_MEMORY_MB)
            if not w.alive:
                return f'{file}: could not be checked: the compiler did not start'
            self.worker = w
            w.owner = self
        self.answer = asyncio.get_running_loop().create_future()
        self.worker.send({'op': 'compile', 'file': file, 'source': source})
        try:
            error = await asyncio.wait_for(asyncio.shield(self.answer), limit_ms / 1000)
        except asyncio.TimeoutError:
            self.close()
            return (f'{file}: does not compile within {limit_ms} ms (a script must be far quicker to compile '
                    'than its deadline)')
        except RuntimeError as e:
            return f'{file}: {e} (out of memory?)'
        return error if error is None or isinstance(error, str) else f'{file}: does not compile'

    def close(self):
        if self.worker is not None:
            w, self.worker = self.worker, None
            w.owner = None
            w.kill()


def script_files(directory):
    return sorted(f for f in os.listdir(directory)
                  if f.endswith('.py') and len(f) > 3 and os.path.isfile(os.path.join(directory, f)))


async def load(directory, version, pool, partial=False):
    """Loads every *.py of `directory`; raises LoadError listing every error when any script fails.
    With `partial` (the engine's start), a script that fails is served as failing instead, so that
    one tenant's broken script cannot keep every other tenant from starting; it gets twice a
    reload's compile time."""
    scripts = {}
    errors = []
    try:
        files = script_files(directory)
    except OSError as e:
        raise LoadError([f'{directory}: cannot read the scripts directory: {e}']) from None
    compiler = Compiler(pool)

    def fail(name, file, error):
        errors.append(error)
        if partial:
            scripts[name] = Script(name, file, None, error)

    try:
        for f in files:
            name, file = f[:-3], os.path.join(directory, f)
            try:
                size = os.stat(file).st_size
                if size > MAX_SCRIPT_BYTES:
                    fail(name, file, f'{file}: {size} bytes, above the limit of {MAX_SCRIPT_BYTES} (1 MiB) for a script')
                    continue
                with open(file, 'rb') as fh:
                    raw = fh.read(MAX_SCRIPT_BYTES + 1)
                source = raw.decode('utf-8')
            except (OSError, UnicodeDecodeError) as e:
                fail(name, file, f'{file}: {e}')
                continue
            try:
                error = await compiler.check(file, source, 2 * CHECK_MS if partial else CHECK_MS)
            except Exception as e:  # no worker could be forked
                error = f'{file}: could not be checked: {e}'
            if error is not None:
                fail(name, file, error)
            else:
                scripts[name] = Script(name, file, source)
    finally:
        compiler.close()
    if errors and not partial:
        raise LoadError(errors)
    return Library(directory, scripts, version, errors)
