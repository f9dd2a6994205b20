"""What the engine serves, in the main process: the script library and its reloads, the tenants'
lanes (lanes.py) and their workers, and what each tenant keeps whatever happens to its worker:
its key/value store, its time share and its log budget. Mirrors engine/Engine.java and the Node.js
engine's lib/scripts.js, with processes where those have isolates."""

import asyncio
import collections
import os

from . import library, protocol, response_phase
from .budgets import TenantBudgets
from .kv import Stores, LIMITS
from .lanes import (Lane, Call, Failure, MAX_WAITING, MAX_WAITING_BYTES, FRAME_CHARGE_MS, ENGINE_MS_PER_MIB,
                    ENGINE_MS_PER_TOKEN, MAX_LOG_LINES_PER_CALL)
from .logtext import short_text, field

IDLE_WORKER_S = 300
CPU_AT_REST_CHECK_S = 0.25  # how often workers with no call running are checked for using CPU (lanes.py)


class Service:
    def __init__(self, loop, lib, pool, options, log):
        self.loop = loop
        self.library = lib
        self.pool = pool
        self.log = log
        self.deadline_ms = options.deadline_ms
        self.time_share_ms = options.time_share_ms
        self.max_workers = options.max_workers
        self.retire_cpu_ns = options.worker_cpu_s * 0.8 * 1e9
        limits = dict(LIMITS, max_bytes=options.kv_tenant_mb * 1024 * 1024)
        self.stores = Stores(limits, options.kv_total_mb * 1024 * 1024)
        # All tenants together: half of the machine's CPUs (as the Java engine's half of its event loops).
        self.budgets = TenantBudgets(options.time_share_ms, 500 * (os.cpu_count() or 1))
        self.lanes = {}
        self.with_workers = collections.OrderedDict()  # tenant -> lane, least recently used first
        self.reloading = asyncio.Lock()
        self.waiting_bytes = 0  # requests of calls waiting or running (lanes.py)

    # ---- scripts ------------------------------------------------------------------------------
    def script(self, name):
        return self.library.scripts.get(name)

    async def reload(self):
        """Re-reads the directory (compile checks in a worker: requests are served meanwhile); on
        any error (a LoadError lists them) the running scripts stay. The new library."""
        async with self.reloading:
            lib = await library.load(self.library.dir, self.library.version + 1, self.pool,
                                     data_dir=self.library.data_dir)
            self.library = lib
            return lib

    # ---- calls --------------------------------------------------------------------------------
    def refusal(self, tenant):
        """Why a call of `tenant` is refused now (its time share is used up), or None."""
        b = self.budgets.tenants.get(tenant)
        if b is not None and not b['time'].available():
            return (f"the tenant's scripts used their time share ({self.time_share_ms} ms of script time a second); "
                    'calls fail until it refills')
        return None

    async def run(self, kind, script, request, head=None, asked_ms=None, size=0):
        """Runs `script` for `request` (`size`: its bytes, as received) in the tenant's worker:
        the checked result (lanes call `checked`), or raises Failure."""
        if script.error is not None:
            raise Failure(script.error, False)
        tenant = request['tenant']
        refused = self.refusal(tenant)
        if refused is not None:
            raise Failure(f'{script.file}: {refused}', True)
        if sum(len(lane.queue) for lane in self.lanes.values()) >= MAX_WAITING or self.waiting_bytes + size > MAX_WAITING_BYTES:
            raise Failure(f'{script.file}: {MAX_WAITING} calls or {MAX_WAITING_BYTES >> 20} MiB are waiting for the engine already', False)
        lane = self.lanes.get(tenant)
        if lane is None:
            lane = self.lanes[tenant] = Lane(self, tenant)
        self.budgets.of(tenant)
        call = Call(self.loop, kind, script, request, head, asked_ms, size)
        lane.submit(call)
        try:
            return await call.future
        except Failure as f:
            self.failure_log(tenant, call, f)
            raise

    def checked(self, call, ok):
        """A worker's result, checked again here (a script can send anything down its pipe): sizes
        first, then shape and edit rules, then the backends a route names."""
        file = call.script.file
        if not isinstance(ok, dict):
            raise Failure(f"{file}: the script's worker answered out of the protocol", False)
        if call.kind == 'respond':
            if ok.get('unchanged') is True:
                return None
            edits = ok.get('edits')
            if not response_phase.well_formed(edits, call.head['status']):
                raise Failure(f"{file}: the script's response edits are malformed (was the API changed?)", False)
            return edits
        d = ok.get('decision')
        if not isinstance(d, dict):
            raise Failure(f"{file}: the script's worker answered out of the protocol", False)
        too_big = protocol.size_problem(d)
        if too_big is not None:
            raise Failure(f'{file}: {too_big}', True)
        foreign = protocol.foreign_backend(d, call.request['backends'])
        if foreign is not None:
            raise Failure(f'{file}: route_to: {foreign}', False)
        if not protocol.well_formed(d):
            raise Failure(f"{file}: the script's decision is malformed (was the API changed?)", False)
        return d, ok.get('on_response') is True

    def charge(self, tenant, call, worker, extra_ms):
        """The CPU time the call took its worker, and the engine's work for its messages (in
        proportion to the bytes its worker sent and was sent during the call), charged to the
        tenant's time share."""
        used = engine = 0.0
        if worker is not None and hasattr(call, 'cpu0'):
            used = max(0.0, (worker.schedstat()[0] - call.cpu0) / 1e6)
            engine = ((worker.bytes_in + worker.bytes_out) * ENGINE_MS_PER_MIB / (1 << 20)
                      + worker.reader.tokens * ENGINE_MS_PER_TOKEN)
        self.spend(tenant, used + engine + call.frames * FRAME_CHARGE_MS + extra_ms)

    def spend(self, tenant, ms):
        self.budgets.of(tenant)['time'].spend(ms)

    def warn(self, tenant, line):
        """An engine's line about what a tenant's script did, under the tenant's log budget."""
        note = self.budgets.of(tenant)['log'].acquire()
        if note is not None:
            self.log(line + note)

    # ---- workers ------------------------------------------------------------------------------
    def make_room(self, lane):
        """At most max_workers tenants have a worker: the least recently used idle one goes."""
        if len(self.with_workers) < self.max_workers:
            return
        for tenant, other in list(self.with_workers.items()):
            if other is not lane and other.idle():
                other._retire()
                return

    def remember_worker(self, lane):
        self.with_workers.pop(lane.tenant, None)
        self.with_workers[lane.tenant] = lane

    def forget_worker(self, lane):
        self.with_workers.pop(lane.tenant, None)
        if lane.idle() and lane.worker is None:
            self.lanes.pop(lane.tenant, None)

    async def sweep(self, idle_s=IDLE_WORKER_S):
        """Four times a second: a worker that used CPU while no call of its ran is killed (lanes.py,
        used_cpu_at_rest: one /proc read per worker). Every 10 s: workers idle for `idle_s` go
        (their tenants get a spare next time)."""
        last = self.loop.time()
        while True:
            await asyncio.sleep(CPU_AT_REST_CHECK_S)
            for lane in list(self.with_workers.values()):
                lane.used_cpu_at_rest()
            now = self.loop.time()
            if now - last < 10:
                continue
            last = now
            cutoff = now - idle_s
            for lane in list(self.with_workers.values()):
                if lane.idle() and lane.last_used < cutoff:
                    lane._retire()

    def close(self):
        for lane in list(self.lanes.values()):
            lane._retire()

    # ---- logs ---------------------------------------------------------------------------------
    def script_log(self, tenant, call, text):
        """A script's log line: at most 20 a call (then one line saying so) and the tenant's budget
        (100 a second, burst 200), escaped and quoted: docs/scripting.md, "log"."""
        call.logged += 1
        if call.logged > MAX_LOG_LINES_PER_CALL + 1:
            return
        note = self.budgets.of(tenant)['log'].acquire()
        if note is None:
            return
        prefix = f"tenant={field(tenant)} request_id={field(call.request['request_id'])}"
        if call.logged > MAX_LOG_LINES_PER_CALL:
            self.log(f'INFO script {prefix} log="(further log lines of this call dropped: at most '
                     f'{MAX_LOG_LINES_PER_CALL} a call)"{note}')
        else:
            self.log(f'INFO script {prefix} log="{short_text(str(text)[:4096], quote=True)}"{note}')

    def failure_log(self, tenant, call, failure):
        """A failing script's line, under the same per-tenant budget as its log lines."""
        note = self.budgets.of(tenant)['log'].acquire()
        if note is None:
            return
        kind = ' (limit)' if failure.limit else ''
        self.log(f"WARNING script {field(call.script.name)} failed{kind}, tenant={field(tenant)} "
                 f"request_id={field(call.request['request_id'])} error=\"{short_text(str(failure), quote=True)}\"{note}")
