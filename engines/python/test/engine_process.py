"""The real engine for the tests: started as a process on a unix socket in a temporary directory,
with scripts the test writes, and talked to over that socket (http.client, standard library)."""

import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

ENGINE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'engine.py')
PYTHON = '/usr/bin/python3'  # Debian's, with python3-seccomp


class UnixConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout=10):
        super().__init__('engine', timeout=timeout)
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.path)


class Engine:
    """engine.py on `scripts` ({name: source}), with extra command-line `args`; `files` ({file name:
    str or bytes}) are written into the scripts directory first (data files). `user`: a uid to run
    the engine as (the test runs as root), its directory then open to it."""

    def __init__(self, scripts, args=(), files=None, user=None):
        self.dir = tempfile.mkdtemp(prefix='pyengine-test-')
        self.scripts_dir = os.path.join(self.dir, 'scripts')
        os.mkdir(self.scripts_dir)
        for name, source in scripts.items():
            self.write(name, source)
        for name, content in (files or {}).items():
            self.write_file(name, content)
        self.socket = os.path.join(self.dir, 'engine.sock')
        self.log_path = os.path.join(self.dir, 'engine.log')
        self.log_file = open(self.log_path, 'wb')
        as_user = {}
        if user is not None:
            for d in (self.dir, self.scripts_dir):
                os.chmod(d, 0o777)
            as_user = {'user': user, 'group': user, 'extra_groups': []}
        self.proc = subprocess.Popen([PYTHON, ENGINE, '--scripts', self.scripts_dir, '--listen', f'unix:{self.socket}', *args],
                                     stdout=self.log_file, stderr=subprocess.STDOUT, **as_user)
        for _ in range(200):
            if ' serving ' in self.log():
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        log = self.log()
        self.stop()
        raise RuntimeError(f'the engine did not start: {log}')

    def write(self, name, source):
        with open(os.path.join(self.scripts_dir, f'{name}.py'), 'w') as f:
            f.write(source)

    def write_file(self, name, content):
        """A file of the scripts directory (`name` may have a directory part, relative to it)."""
        path = os.path.join(self.scripts_dir, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'wb') as f:
            f.write(content.encode() if isinstance(content, str) else content)

    def log(self):
        with open(self.log_path, 'rb') as f:
            return f.read().decode('utf-8', 'replace')

    def request(self, method, path, body=None, headers=None, timeout=10):
        """(status, parsed JSON answer)."""
        c = UnixConnection(self.socket, timeout)
        try:
            data = body if body is None or isinstance(body, bytes) else json.dumps(body).encode()
            c.request(method, path, data, headers or {})
            r = c.getresponse()
            return r.status, json.loads(r.read())
        finally:
            c.close()

    def decide(self, tenant, script, headers=(), timeout=10, **extra):
        body = {'version': 1, 'tenant': tenant, 'script': script,
                'request': {'method': 'GET', 'path': '/', 'headers': [list(h) for h in headers]},
                'backends': [{'name': 'stable', 'url': 'http://10.0.0.5:8080'}], **extra}
        status, answer = self.request('POST', '/v1/decide', body, timeout=timeout)
        assert status == 200, (status, answer)
        return answer

    def stop(self):
        """SIGTERM; the exit status of the graceful stop."""
        code = None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                code = self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                code = self.proc.wait()
        else:
            code = self.proc.returncode
        self.log_file.close()
        shutil.rmtree(self.dir, ignore_errors=True)
        return code


def worker_pids(engine):
    """The pids of the engine's zygote's children (its workers)."""
    out = subprocess.run(['pgrep', '-P', str(engine.proc.pid), '-f', 'zygote.py'], capture_output=True, text=True).stdout.split()
    if not out:
        return set()
    children = subprocess.run(['pgrep', '-P', out[0]], capture_output=True, text=True).stdout.split()
    return {int(p) for p in children}
