"""Each tenant's lane: its calls, one at a time, in its own worker process.

A tenant's calls wait in its lane (bounded) and run in order in its worker, which is taken from the
pool on first use and kept (with its scripts' globals) until it is killed: at the call's deadline,
after a MemoryError, when it breaks the pipe protocol, or to make room (at most --max-workers
tenants have a worker; the least recently used idle one goes). Tenants never share a worker, so
one tenant's loop, crash or full memory delays no other tenant's answers; the operating system
shares the CPUs between the workers, and the time share (budgets.py) between the tenants.

The deadline of a call is its worker's CPU time, read from /proc/PID/schedstat: at the deadline
(--deadline-ms, or the gateway's deadline_ms if less, what is left of it after waiting), a worker
that used its deadline's worth of CPU is SIGKILLed ("deadline of N ms passed", limit true) and the
tenant's next call gets a spare. A worker short of CPU because the machine is busy runs on, up to
the gateway's deadline (wall clock; without one, a second or twenty deadlines): then it is killed
too, "while the engine was busy", limit false unless it was blocked rather than waiting for a CPU."""

import collections

from .frames import encode
from .kv import KvError
from .logtext import field
from .workers import MAX_BYTES_IN

MAX_WAITING_PER_TENANT = 128
MAX_WAITING = 1024
MAX_WAITING_BYTES = 64 * 1024 * 1024  # requests waiting or running, all tenants (a tenant: an eighth)
MIN_CALL_MS = 5  # a call whose wait left it less than this is not run (the gateway gives up now)
MAX_KV_OPS_PER_CALL = 10000
MAX_FRAMES_PER_CALL = 12000
MAX_BYTES_PER_CALL = MAX_BYTES_IN  # all the messages of one call (a frame is at most 16 MiB): workers.py checks it
MAX_KV_ANSWERS_PER_CALL = 32 * 1024 * 1024  # bytes of kv answers one call gets (a value is up to 786 KB escaped)
# The main process's work for a tenant's messages, charged to its time share (attack s17py F2, F2b):
# each message, each MiB read from its worker or written to it (reading, scanning and parsing
# frames; encoding and writing kv answers and data files) and each token of its frames (frames.py:
# a decision naming thousands of backends costs by its strings more than by its bytes). Measured:
# 1.6 to 5.4 ms a MiB in (escaped text, a body of quotes the costliest), 0.8 to 1.8 ms a MiB out,
# 4 us a small message, 0.25 us a token: charged above that, so that a tenant whose worker makes
# the engine work pays at least what the engine spent.
FRAME_CHARGE_MS = 0.01
ENGINE_MS_PER_MIB = 8
ENGINE_MS_PER_TOKEN = 0.0005
REPLACEMENT_CHARGE_MS = 5  # forking a worker for a tenant whose worker was killed
# A worker uses no CPU between its calls (it waits on its pipe): one whose CPU time grew more than
# this since its last call ended (a script that answered past the API and went on: attack s17py
# F3) is killed and replaced, checked before its next call and by the engine's sweep (service.py),
# and what it used is charged to its tenant.
IDLE_CPU_MS = 10
MAX_LOG_LINES_PER_CALL = 20
MAX_DATA_READS_PER_CALL = 64  # data(NAME): each answer a file of up to 1 MiB (its frame made at load)


class Failure(Exception):
    """A call that failed: an error answer, `limit` telling a limit from the script's own error."""

    def __init__(self, message, limit):
        super().__init__(message)
        self.limit = limit


class Call:
    def __init__(self, loop, kind, script, request, head, asked_ms, size=0):
        self.size = size  # the bytes of its request, counted while it waits or runs
        self.kind = kind
        self.script = script
        self.request = request
        self.head = head
        self.asked_ms = asked_ms
        self.arrival = loop.time()
        self.future = loop.create_future()
        self.timer = None
        self.frames = self.kv_ops = self.logged = self.data_reads = 0
        self.kv_answers = 0  # bytes

    def finish(self, result=None, failure=None):
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        if not self.future.done():
            if failure is not None:
                self.future.set_exception(failure)
            else:
                self.future.set_result(result)


class Lane:
    def __init__(self, engine, tenant):
        self.engine = engine
        self.tenant = tenant
        self.queue = collections.deque()
        self.worker = None
        self.running = None
        self.starting = False
        self.last_used = 0.0
        self.bytes = 0  # of its calls waiting or running

    # ---- the worker's messages ------------------------------------------------------------
    def expecting(self, worker):
        """Whether `worker` may write now: a call of its runs (workers.py checks before reading)."""
        return worker is self.worker and self.running is not None

    def message(self, worker, msg, size=0):
        call = self.running
        if worker is not self.worker or call is None:
            worker.kill(('a message while no call runs', False))  # the script is past the API
            return
        call.frames += 1
        if call.frames > MAX_FRAMES_PER_CALL or worker.bytes_in > MAX_BYTES_PER_CALL:
            self._kill(call, f'{call.script.file}: more than {MAX_FRAMES_PER_CALL} messages or '
                       f'{MAX_BYTES_PER_CALL >> 20} MiB to the engine in one call', True)
            return
        op = msg.get('op')
        if op == 'kv':
            self._kv(worker, call, msg)
        elif op == 'log':
            self.engine.script_log(self.tenant, call, msg.get('text'))
        elif op == 'data':
            self._data(worker, call, msg)
        elif op == 'done':
            self._done(call, msg)
        else:
            self._kill(call, f'{call.script.file}: the worker broke the engine\'s protocol', False)

    def ended(self, worker):
        if worker is not self.worker:
            return
        self.worker = None
        self.engine.forget_worker(self)
        call = self.running
        if call is not None:
            self.running = None
            self.engine.charge(self.tenant, call, worker, REPLACEMENT_CHARGE_MS)
            if worker.why is not None:  # killed by the engine: a frame or message past the rules
                text, limit = worker.why
                call.finish(failure=Failure(f'{call.script.file}: the worker broke the engine\'s protocol: {text}', limit))
            else:
                call.finish(failure=Failure(f'{call.script.file}: the tenant\'s worker process ended during the call '
                                            '(it crashed, or ran out of memory or CPU time)', True))
        self.pump()

    def _kv(self, worker, call, msg):
        call.kv_ops += 1
        if call.kv_ops > MAX_KV_OPS_PER_CALL:
            worker.send({'op': 'kv', 'error': f'kv: more than {MAX_KV_OPS_PER_CALL} operations in one call'})
            return
        try:
            ok = self.engine.stores.serve(self.tenant, msg.get('fn'), msg.get('args'))
            answer = encode({'op': 'kv', 'ok': ok})
            call.kv_answers += len(answer)
            if call.kv_answers > MAX_KV_ANSWERS_PER_CALL:
                # (values read raw, never decoded, cost the engine far more than the worker: s17py F2b)
                worker.send({'op': 'kv', 'error': f'kv: more than {MAX_KV_ANSWERS_PER_CALL >> 20} MiB of values read '
                                                  'in one call'})
                return
            worker.send_frame(answer)
        except KvError as e:
            worker.send({'op': 'kv', 'error': str(e)})
        except (ValueError, TypeError, OverflowError) as e:
            # Arguments the API would never send (10**400, a ttl of 1e308: attack s16py F3): the
            # script's error, answered, not an exception out of the main process's reader.
            worker.send({'op': 'kv', 'error': f'kv: arguments out of range ({type(e).__name__}: {str(e)[:200]})'})

    def _data(self, worker, call, msg):
        """data(NAME): the file's text, of the data files the call's script was loaded with (the
        version its top level ran with), whatever the worker asks for; never another directory's."""
        call.data_reads += 1
        if call.data_reads > MAX_DATA_READS_PER_CALL:
            worker.send({'op': 'data', 'error': f'data: more than {MAX_DATA_READS_PER_CALL} reads in one call '
                                                '(read a file once, at the top level)'})
            return
        frame, error = call.script.data.answer(msg.get('name'))
        if frame is not None:
            worker.send_frame(frame)
        else:
            worker.send({'op': 'data', 'error': error})

    def _done(self, call, msg):
        worker = self.worker
        self.running = None
        self.engine.charge(self.tenant, call, worker, 0)
        if worker is not None:
            worker.rest_ns = worker.last_schedstat[0]  # (read by charge): it uses none until its next call
        fail = msg.get('fail')
        # A worker near its lifetime's CPU limit (RLIMIT_CPU, the backstop) is replaced between
        # calls, before the kernel stops it in the middle of one.
        if worker is not None and worker.last_schedstat[0] > self.engine.retire_cpu_ns:
            self._retire()
        if isinstance(fail, dict):
            if fail.get('recycle') is True:
                self._retire()
            text = fail.get('message')
            text = text if isinstance(text, str) else f'{call.script.file}: the script failed'
            call.finish(failure=Failure(text, fail.get('limit') is True))
        else:
            try:
                call.finish(result=self.engine.checked(call, msg.get('ok')))
            except Failure as f:
                call.finish(failure=f)
        self.pump()

    def _retire(self):
        w = self.worker
        if w is not None:
            self.worker = None
            self.engine.forget_worker(self)
            w.owner = None
            w.kill()

    def _kill(self, call, message, limit):
        """Stops the running call: SIGKILL its worker, answer the failure, the next call gets a spare."""
        w = self.worker
        self.running = None
        self.engine.charge(self.tenant, call, w, REPLACEMENT_CHARGE_MS)
        self._retire()
        call.finish(failure=Failure(message, limit))
        self.pump()

    # ---- running calls ----------------------------------------------------------------------
    def pump(self):
        loop = self.engine.loop
        while self.running is None and not self.starting and self.queue:
            call = self.queue[0]
            if call.future.done():  # answered while it waited (its deadline passed)
                self.queue.popleft()
                continue
            if self.worker is not None and self.used_cpu_at_rest():
                continue  # killed: the call gets a spare
            if self.worker is None:
                self.starting = True
                loop.create_task(self._equip())
                return
            self.queue.popleft()
            self._start(call)

    def used_cpu_at_rest(self):
        """Kills the worker if it used CPU since its last call ended, while no call runs (a script
        that answered past the API and went on: no deadline applies then), charging its tenant;
        True when it did."""
        w = self.worker
        if w is None or self.running is not None or w.rest_ns is None:
            return False
        used_ms = (w.schedstat()[0] - w.rest_ns) / 1e6
        if used_ms <= IDLE_CPU_MS:
            return False
        self._retire()
        self.engine.spend(self.tenant, used_ms + REPLACEMENT_CHARGE_MS)
        self.engine.warn(self.tenant, f'WARNING engine killed the worker of tenant {field(self.tenant)}: it used '
                                      f'{round(used_ms)} ms of CPU with no call running (a script past the API)')
        return True

    async def _equip(self):
        try:
            self.engine.make_room(self)
            w = await self.engine.pool.take()
            while not w.alive:  # a spare that died while it waited
                w = await self.engine.pool.take()
            w.owner = self
            w.rest_ns = w.schedstat()[0]
            self.worker = w
            self.engine.remember_worker(self)
        except Exception as e:  # no worker could be forked
            if self.queue:
                self.queue.popleft().finish(failure=Failure(f'the engine could not start a worker: {e}', False))
        finally:
            self.starting = False
        self.pump()

    def _start(self, call):
        loop = self.engine.loop
        now = loop.time()
        own = self.engine.deadline_ms
        waited = (now - call.arrival) * 1000
        call.call_ms = own if call.asked_ms is None else min(own, call.asked_ms)
        if call.timer is not None:  # the timer of its wait
            call.timer.cancel()
            call.timer = None
        if call.asked_ms is not None and call.asked_ms - waited < MIN_CALL_MS:
            call.finish(failure=Failure(f"{call.script.file}: waited {round(waited)} ms for the engine, past the call's deadline", False))
            return
        allow = call.call_ms if call.asked_ms is None else min(own, call.asked_ms - waited)
        w = self.worker
        script = call.script
        fresh = w.sids.get(script.name) != script.sid
        call.allow_ms = allow * (2 if fresh else 1)  # the script's top level runs first, with a deadline of its own
        call.started = now
        call.cpu0, call.wait0 = w.schedstat()
        call.wall_at = call.arrival + call.asked_ms / 1000 if call.asked_ms is not None else now + max(1.0, 20 * allow / 1000)
        self.running = call
        self.last_used = now
        w.bytes_in = 0
        w.rest_ns = None
        w.reader.start_call(len(call.request.get('backends') or ()))  # a route may name each backend
        w.sids[script.name] = script.sid
        w.send({'op': 'call', 'kind': call.kind, 'tenant': self.tenant, 'script': script.name, 'sid': script.sid,
                'file': script.file, 'source': script.source if fresh else None, 'request': call.request,
                'response': call.head})
        w.bytes_out = 0  # (the call's message is the gateway's request, not the script's doing)
        call.timer = loop.call_at(min(now + call.allow_ms / 1000, call.wall_at), self._check, call)

    def _check(self, call):
        """The call's deadline: kill its worker if it used its CPU time, or when the wall clock ran out."""
        call.timer = None
        if self.running is not call or self.worker is None:
            return
        loop = self.engine.loop
        run_ns, wait_ns = self.worker.schedstat()
        used = (run_ns - call.cpu0) / 1e6
        now = loop.time()
        if used >= call.allow_ms:
            self._kill(call, f'{call.script.file}: deadline of {call.call_ms} ms passed', True)
        elif now >= call.wall_at:
            elapsed = (now - call.started) * 1000
            waited = (wait_ns - call.wait0) / 1e6  # ready to run, no CPU free: the machine was busy
            busy = waited >= elapsed - used - waited
            self._kill(call, f'{call.script.file}: deadline of {call.call_ms} ms passed'
                       + (' while the engine was busy' if busy else ''), not busy)
        else:
            at = min(now + max(0.001, (call.allow_ms - used) / 1000), call.wall_at)
            call.timer = loop.call_at(at, self._check, call)

    def submit(self, call):
        if len(self.queue) >= MAX_WAITING_PER_TENANT or self.bytes + call.size > MAX_WAITING_BYTES // 8:
            raise Failure(f'{call.script.file}: {len(self.queue)} calls ({self.bytes >> 10} KiB) of this tenant are '
                          'waiting for its worker already', True)
        self.bytes += call.size
        self.engine.waiting_bytes += call.size
        call.future.add_done_callback(lambda _: self._release(call))
        self.queue.append(call)
        if call.asked_ms is not None:
            # A call whose deadline passes while it waits is answered at once, not when its turn comes.
            call.timer = self.engine.loop.call_at(call.arrival + call.asked_ms / 1000, self._expired, call)
        self.pump()

    def _release(self, call):
        self.bytes -= call.size
        self.engine.waiting_bytes -= call.size

    def _expired(self, call):
        call.timer = None
        if self.running is call or call.future.done():
            return
        try:
            self.queue.remove(call)
        except ValueError:
            pass
        waited = (self.engine.loop.time() - call.arrival) * 1000
        call.finish(failure=Failure(f"{call.script.file}: waited {round(waited)} ms for the engine, past the call's deadline", False))

    def idle(self):
        return self.running is None and not self.queue and not self.starting
