"""The scripts the engine serves: every *.py directly in one directory (not its subdirectories), by
name (the file name without .py). Immutable; a reload builds a new library and keeps the old one
when any script fails. Mirrors engine/ScriptLibrary.java and the Node.js engine's lib/library.js.

The main process never compiles a script: CPython's compiler is not made for hostile input (deep
nesting, huge files), so each source is checked in a worker of its own (sandboxed as any worker,
with more memory), at most CHECK_MS each: a script slow to compile delays the reload, never
another tenant's call, and is refused with an error naming it. A file above 1 MiB is refused unread.

Data files (README, "Data files": *.csv, *.json, *.txt directly in the data directory, which is
the scripts directory unless --data-dir says otherwise) are read here too, in the main process, at
each (re)load: UTF-8 text, at most 1 MiB each and 8 MiB together. Scripts read them with
data(NAME), a request to the main process (lanes.py), answered with the frame made here. A script's
version (sid) includes the data files' digest, so a reload that changes any of them runs every
script's top level again (a model trained there is trained again on the new data)."""

import asyncio
import hashlib
import os
import re
import stat

from .frames import encode_text

MAX_SCRIPT_BYTES = 1024 * 1024
CHECK_MS = 2000
COMPILER_MEMORY_MB = 512
DATA_EXTENSIONS = ('.csv', '.json', '.txt')
MAX_DATA_FILE_BYTES = 1024 * 1024
MAX_DATA_BYTES = 8 * 1024 * 1024
# Text: tab, LF and CR are the only control characters (so a frame is at most twice the file).
_NOT_TEXT = re.compile('[\x00-\x08\x0b\x0c\x0e-\x1f]')


class LoadError(Exception):
    def __init__(self, errors):
        super().__init__('\n'.join(errors))
        self.errors = errors


class Data:
    """The data files of one (re)load: each name with the frame that answers data(NAME) (its text,
    JSON-encoded once, here), or (start-up only) why it could not be read. `digest` names this set."""

    def __init__(self, directory, frames=None, errors=None, size=0):
        self.dir = directory
        self.frames = frames or {}
        self.errors = errors or {}
        self.size = size  # bytes of the files' text
        h = hashlib.sha256()
        for name in sorted(self.frames):
            h.update(f'{name}\0'.encode() + self.frames[name] + b'\0')
        for name in sorted(self.errors):
            h.update(f'{name}\0{self.errors[name]}\0'.encode('utf-8', 'replace'))
        self.digest = h.hexdigest()[:24]

    def names(self):
        return sorted(set(self.frames) | set(self.errors))

    def answer(self, name):
        """(frame, None) for data(name) with the file's text, or (None, the error's message)."""
        if not isinstance(name, str) or not 0 < len(name) <= 255:
            return None, 'data: bad argument #1 (the name of a data file expected)'
        frame = self.frames.get(name)
        if frame is not None:
            return frame, None
        if name in self.errors:
            return None, f'data: {self.errors[name]}'
        names = self.names()
        there = ', '.join(names[:20]) + (f' and {len(names) - 20} more' if len(names) > 20 else '') if names else 'none'
        return None, f"data: no data file {name[:300]!r} in {self.dir} (data files there: {there})"


class Script:
    """One script: `sid` names this version of it (file and source, and the data files' digest), so a
    worker that ran it keeps its globals across a reload that changed neither. `error`: why it did not
    load (start-up only: then every call of it is an error answer). `data`: the data files it reads."""

    def __init__(self, name, file, source, error=None, data=None):
        self.name = name
        self.file = file
        self.source = source
        self.error = error
        self.data = data if data is not None else Data('')
        self.sid = hashlib.sha256(f'{file}\0{source}\0{self.data.digest}'.encode('utf-8', 'replace')).hexdigest()[:24]


class Library:
    def __init__(self, directory, scripts, version, failing, data=None, data_dir=None):
        self.dir = directory
        self.scripts = scripts
        self.version = version
        self.failing = failing
        self.data = data if data is not None else Data(directory)
        self.data_dir = data_dir if data_dir is not None else directory


class Compiler:
    """Compile checks in a worker process, one script at a time, each with its own time limit."""

    def __init__(self, pool):
        self.pool = pool
        self.worker = None
        self.answer = None

    def expecting(self, worker):
        return worker is self.worker and self.answer is not None and not self.answer.done()

    def message(self, worker, msg, size=0):
        if self.answer is not None and not self.answer.done() and msg.get('op') == 'compiled':
            self.answer.set_result(msg.get('error'))
        else:
            worker.kill(('a message out of turn', False))

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
        self.worker.bytes_in = 0  # (what a worker may send is bounded per call: here per check)
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


def data_files(directory):
    """The data files' names: *.csv, *.json, *.txt directly in `directory`, hidden ones left out."""
    return sorted(f for f in os.listdir(directory)
                  if f.endswith(DATA_EXTENSIONS) and not f.startswith('.') and os.path.isfile(os.path.join(directory, f)))


def read_data(directory):
    """The data files of `directory`: ({name: frame}, {name: error} for those that failed, bytes read)."""
    try:
        names = data_files(directory)
    except OSError as e:
        raise LoadError([f'{directory}: cannot read the data directory: {e}']) from None
    frames = {}
    errors = {}
    total = 0
    for name in names:
        file = os.path.join(directory, name)
        try:
            # Non-blocking, then checked: a file swapped for a FIFO since it was listed never blocks this process.
            fd = os.open(file, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
            with open(fd, 'rb') as fh:
                st = os.fstat(fd)
                if not stat.S_ISREG(st.st_mode):
                    errors[name] = f'{file}: not a regular file'
                    continue
                if st.st_size > MAX_DATA_FILE_BYTES:
                    errors[name] = f'{file}: {st.st_size} bytes, above the limit of {MAX_DATA_FILE_BYTES} (1 MiB) for a data file'
                    continue
                raw = fh.read(MAX_DATA_FILE_BYTES + 1)
            if len(raw) > MAX_DATA_FILE_BYTES:
                errors[name] = f'{file}: above the limit of {MAX_DATA_FILE_BYTES} (1 MiB) for a data file'
                continue
            text = raw.decode('utf-8')
        except (OSError, UnicodeDecodeError) as e:
            errors[name] = f'{file}: cannot be read as UTF-8 text: {e}'
            continue
        bad = _NOT_TEXT.search(text)
        if bad is not None:
            errors[name] = (f'{file}: not text: control character 0x{ord(bad.group()):02x} at character {bad.start()} '
                            '(a data file is UTF-8 text; tab, CR and LF are its only control characters)')
            continue
        if total + len(raw) > MAX_DATA_BYTES:
            errors[name] = (f'{file}: the data files together would pass the limit of {MAX_DATA_BYTES} (8 MiB): '
                            f'{total} bytes before this one of {len(raw)}')
            continue
        total += len(raw)
        frames[name] = encode_text({'op': 'data', 'ok': text})
    return frames, errors, total


async def load(directory, version, pool, partial=False, data_dir=None):
    """Loads every *.py of `directory` and the data files of `data_dir` (default: `directory`);
    raises LoadError listing every error when any script or data file fails. With `partial` (the
    engine's start), a script that fails is served as failing instead, so that one tenant's broken
    script cannot keep every other tenant from starting; it gets twice a reload's compile time. A
    data file that fails then is served as failing too: data(NAME) of it raises its error."""
    scripts = {}
    errors = []
    data_dir = directory if data_dir is None else data_dir
    try:
        files = script_files(directory)
    except OSError as e:
        raise LoadError([f'{directory}: cannot read the scripts directory: {e}']) from None
    frames, data_errors, size = read_data(data_dir)
    errors.extend(data_errors.values())
    data = Data(data_dir, frames, data_errors if partial else None, size)
    compiler = Compiler(pool)

    def fail(name, file, error):
        errors.append(error)
        if partial:
            scripts[name] = Script(name, file, None, error, data)

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
                scripts[name] = Script(name, file, source, data=data)
    finally:
        compiler.close()
    if errors and not partial:
        raise LoadError(errors)
    return Library(directory, scripts, version, errors, data, data_dir)
