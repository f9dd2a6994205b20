"""What a worker process gives up before it runs any script code (it runs in the zygote's freshly
forked child, before the worker reads its first message): every file descriptor but its two
pipes, its environment, root (when the engine runs as root: it becomes nobody), its memory and CPU
(rlimits), and, when Debian's python3-seccomp is importable, every system call it does not need.

Why seccomp: CPython cannot be sandboxed from the inside (`().__class__.__base__.__subclasses__()`
reaches `os.system`, `gc.get_objects()` reaches every object, ctypes reaches raw memory). So a
worker's boundary is the kernel's: the filter allows reading its request pipe (fd 3), writing its
answer pipe (fd 4), memory management, futex wakes, clocks (the system's and its own, not another
process's CPU clock), getrandom, signal return and exit; every
other system call fails with EPERM: no open, stat, socket, connect, execve, fork/clone, kill,
ptrace, sleep, timers, signal handlers (a futex wait times out at once). A 32-bit (int 0x80) system call kills the process
(libseccomp's bad-architecture action). The filter is built once in the zygote, loaded in each
child."""

import errno
import gc
import os
import random
import resource
import signal
import sys

try:
    import seccomp
except ImportError:  # the engine still runs, with the process boundary and rlimits only
    seccomp = None

IN_FD = 3
OUT_FD = 4
NOBODY = 65534
RECURSION_LIMIT = 220  # frames, the worker's own few included: Lua's call depth is 100

# The system calls a worker needs once it is serving: CPython's allocator (brk, mmap, ...), its
# locks (futex), time.time/process_time (clock_gettime: vDSO, or a real call for CPU clocks),
# random/os.urandom (getrandom), and exit. read/write only on its pipes (below).
ALLOWED = ['brk', 'mmap', 'munmap', 'mremap', 'madvise', 'mprotect',
           'gettimeofday', 'time', 'getrandom', 'rt_sigreturn', 'rt_sigprocmask',
           'sched_yield', 'getpid', 'gettid', 'getppid', 'getuid', 'geteuid', 'getgid', 'getegid', 'close',
           'exit', 'exit_group']
# Clocks by id, only those from 0 up: the system's (CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_BOOTTIME,
# ...; time.time() and time.monotonic() read them in the vDSO, without a system call) and the
# worker's own CPU clocks (CLOCK_PROCESS_CPUTIME_ID 2, CLOCK_THREAD_CPUTIME_ID 3: process_time,
# thread_time). A negative id names the CPU clock of any process or thread by its pid ((~pid << 3) |
# 2), which the kernel lets anyone read: a tenant would see when and how much the zygote or another
# tenant's worker works (attack s17py F4); or a clock device. clockid_t is a 32-bit int in a 64-bit
# register whose upper half the caller chooses, so bit 31 is tested, not the register's sign.
CLOCK_CALLS = ['clock_gettime', 'clock_getres']
CLOCK_ID_SIGN = 0x80000000


FUTEX_CMD_MASK = 0x7f  # the operation without FUTEX_PRIVATE_FLAG and FUTEX_CLOCK_REALTIME
FUTEX_WAIT, FUTEX_WAKE, FUTEX_WAIT_BITSET, FUTEX_WAKE_BITSET = 0, 1, 9, 10


def build_filter():
    """The seccomp filter every worker loads (None without python3-seccomp)."""
    if seccomp is None:
        return None
    f = seccomp.SyscallFilter(defaction=seccomp.ERRNO(errno.EPERM))
    for name in ALLOWED:
        try:
            f.add_rule(seccomp.ALLOW, name)
        except (RuntimeError, ValueError, OSError):
            pass  # not a system call of this architecture
    # futex: a worker has one thread, so nothing it waits for could ever come: a wait (FUTEX_WAIT,
    # FUTEX_WAIT_BITSET: a lock acquired twice, with or without a timeout) times out at once
    # (ETIMEDOUT, which glibc and CPython handle: acquire() returns False) instead of blocking
    # the worker; EPERM there made glibc abort. Wakes are allowed.
    for op in (FUTEX_WAKE, FUTEX_WAKE_BITSET):
        f.add_rule(seccomp.ALLOW, 'futex', seccomp.Arg(1, seccomp.MASKED_EQ, FUTEX_CMD_MASK, op))
    for op in (FUTEX_WAIT, FUTEX_WAIT_BITSET):
        f.add_rule(seccomp.ERRNO(errno.ETIMEDOUT), 'futex', seccomp.Arg(1, seccomp.MASKED_EQ, FUTEX_CMD_MASK, op))
    for name in CLOCK_CALLS:
        f.add_rule(seccomp.ALLOW, name, seccomp.Arg(0, seccomp.MASKED_EQ, CLOCK_ID_SIGN, 0))
    f.add_rule(seccomp.ALLOW, 'read', seccomp.Arg(0, seccomp.EQ, IN_FD))
    f.add_rule(seccomp.ALLOW, 'write', seccomp.Arg(0, seccomp.EQ, OUT_FD))
    return f


def _address_space():
    """The process's virtual memory now, in bytes (/proc/self/statm: pages)."""
    with open('/proc/self/statm') as f:
        return int(f.read().split()[0]) * os.sysconf('SC_PAGE_SIZE')


def enter(rfd, wfd, memory_bytes, cpu_seconds, seccomp_filter):
    """Turns this freshly forked process into a sandboxed worker: its pipes become fds 3 and 4,
    everything else goes; True when the seccomp filter is on."""
    null = os.open('/dev/null', os.O_RDWR)
    r, w = os.dup(rfd), os.dup(wfd)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.dup2(r, IN_FD)
    os.dup2(w, OUT_FD)
    os.closerange(OUT_FD + 1, 1 << 16)  # the zygote's socket, other workers' pipes, the rest
    os.set_inheritable(IN_FD, False)
    os.set_inheritable(OUT_FD, False)

    # Signals: the main process stops a worker with SIGKILL; nothing else is for it.
    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGPIPE):
        signal.signal(s, signal.SIG_IGN)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    os.environ.clear()  # unsetenv each: the C environment is empty too
    random.seed()  # every worker its own sequence (forked workers share the zygote's state)
    np_random = sys.modules.get('numpy.random')  # --preload numpy: its global generator too
    if np_random is not None:
        np_random.seed()

    if os.getuid() == 0:
        os.setgroups([])
        os.setgid(NOBODY)
        os.setuid(NOBODY)
    # Not root (any more): RLIMIT_NPROC 0 keeps it from forking even without the filter.
    resource.setrlimit(resource.RLIMIT_NPROC, (0, 0))

    limit = _address_space() + memory_bytes
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 5))
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

    sys.stdout = sys.stderr = None  # print() writes nothing (and fds 1, 2 are /dev/null)
    sys.setrecursionlimit(RECURSION_LIMIT)
    gc.collect()
    gc.freeze()  # the zygote's objects: never scanned again, so a collection at each call's end is cheap
    if seccomp_filter is not None:
        seccomp_filter.load()
        return True
    return False
