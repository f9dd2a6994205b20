"""What each tenant may use of the engine over time, kept per tenant in the main process (never in a
worker, which is killed and replaced whenever it passes a limit and must not hand its tenant a
fresh budget). Mirrors script/TimeShare.java and LogBudget.java, and the Node.js engine's
lib/budgets.js. Clocks are milliseconds of a monotonic clock."""

import math
import time


def monotonic_ms():
    return time.monotonic() * 1000


class TokenBucket:
    """Tokens refilled at `per_second` a second, at most `burst`; starts full."""

    def __init__(self, per_second, burst, now=monotonic_ms):
        self.per_second = per_second
        self.burst = burst
        self.now = now
        self.tokens = burst
        self.at = now()

    def refill(self):
        t = self.now()
        self.tokens = min(self.burst, self.tokens + max(0, t - self.at) * self.per_second / 1000)
        self.at = t
        return self.tokens


class TimeShare:
    """A tenant's share of script time: `per_second_ms` milliseconds of its workers' CPU a second,
    one second's worth as burst (as TimeShare.java). Each call has its deadline, but a tenant
    sending request after request could still keep CPUs busy with calls that each end in time;
    once its share is spent, its calls fail at once until the share refills.

    Tenants' shares add up to more than the machine has, so each also draws on the process's share
    (`parent`). When that is spent, a tenant goes on only while what it used lately (a decaying
    sum, time constant one second) plus its last call stays under its fair part, `fair_ms()`."""

    def __init__(self, per_second_ms, now=monotonic_ms, parent=None, fair_ms=None, max_debt_ms=math.inf):
        self.per_second_ms = per_second_ms
        self.max_debt_ms = max_debt_ms
        self.parent = parent
        self.fair_ms = fair_ms or (lambda: per_second_ms / 4)
        self.now = now
        self.bucket = TokenBucket(per_second_ms, per_second_ms, now)
        self.recent_ms = 0.0
        self.recent_at = now()
        self.last_ms = 0.0
        self.spent_ms = 0.0

    def available(self):
        if self.bucket.refill() <= 0:
            return False
        if self.parent is None or self.parent.available():
            return True
        return self.recent() + self.last_ms < self.fair_ms()

    def recent(self):
        t = self.now()
        self.recent_ms *= math.exp(-max(0, t - self.recent_at) / 1000)
        self.recent_at = t
        return self.recent_ms

    def spend(self, ms):
        self.bucket.refill()
        self.bucket.tokens = max(self.bucket.tokens - ms, -self.max_debt_ms)
        self.recent_ms = self.recent() + ms
        self.last_ms = ms
        self.spent_ms += ms
        if self.parent is not None:
            self.parent.spend(ms)

    def full(self):
        return self.bucket.refill() >= self.bucket.burst and self.recent() < 0.001


class LogBudget:
    """A tenant's log lines: 100 a second, burst 200 (as LogBudget.java). acquire() is None when the
    line is to be dropped, else a note to append (how many were dropped before)."""

    def __init__(self, per_second=100, burst=200, now=monotonic_ms):
        self.bucket = TokenBucket(per_second, burst, now)
        self.dropped = 0

    def acquire(self):
        if self.bucket.refill() < 1:
            self.dropped += 1
            return None
        self.bucket.tokens -= 1
        if self.dropped == 0:
            return ''
        note = f' ({self.dropped} earlier line(s) of this tenant dropped: at most {self.bucket.per_second} a second)'
        self.dropped = 0
        return note

    def full(self):
        return self.dropped == 0 and self.bucket.refill() >= self.bucket.burst


def water_level(share, recents):
    """The max-min fair level of `share` over tenants that used `recents` lately (budgets.js)."""
    recents.sort()
    left = share
    for i, r in enumerate(recents):
        equal = left / (len(recents) - i)
        if r > equal:
            return equal
        left -= r
    return share / max(1, len(recents))


MAX_TENANTS = 10000


class TenantBudgets:
    """Each tenant's {time: TimeShare, log: LogBudget}, made on first use; the time drawing on one
    process share: all tenants' workers together at most half of the machine's CPUs (as the Java
    engine's half of its event loops)."""

    def __init__(self, time_per_second_ms, process_share_ms, now=monotonic_ms):
        self.time_per_second_ms = time_per_second_ms
        self.now = now
        self.process = TimeShare(process_share_ms, now, None, None, process_share_ms)
        self.tenants = {}
        self._fair = (0.0, -math.inf, 0.0)  # ms, at, process spent then

    def of(self, tenant):
        b = self.tenants.get(tenant)
        if b is None:
            if len(self.tenants) >= MAX_TENANTS:
                self._forget_full()
            b = self.tenants[tenant] = {
                'time': TimeShare(self.time_per_second_ms, self.now, self.process, self.fair_share),
                'log': LogBudget(100, 200, self.now),
            }
        return b

    def fair_share(self):
        """What a tenant may have used lately (plus its last call) and still call while the process
        share is spent: the max-min fair level over the tenants active lately, or their average
        recent use, whichever is more; counted again after 100 ms or 5 ms of script time."""
        ms, at, spent = self._fair
        t = self.now()
        if t - at >= 100 or self.process.spent_ms - spent >= 5:
            recents = [r for r in (b['time'].recent() for b in self.tenants.values()) if r >= 1]
            average = sum(recents) / len(recents) if recents else 0
            ms = max(water_level(self.process.per_second_ms, recents), average)
            self._fair = (ms, t, self.process.spent_ms)
        return ms

    def _forget_full(self):
        for tenant in [t for t, b in self.tenants.items() if b['time'].full() and b['log'].full()]:
            del self.tenants[tenant]
