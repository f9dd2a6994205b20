"""prctl(PR_SET_DUMPABLE, 0) for the main process and the zygote, early at their start (attack
s17py F5). A process that is not dumpable cannot be ptraced, nor its memory read through
/proc/PID/mem or process_vm_readv, nor its /proc/PID/environ, maps and the like read, by a process
without CAP_SYS_PTRACE, even of its own user: under bubblewrap the engine runs as uid 65534 in a
user namespace, as its workers do (the switch to `nobody` happens only when the engine runs as
root), and the main process holds every tenant's kv. The seccomp filter already keeps a worker
from ptrace and from /proc; this holds whatever the uid and wherever the filter would not. Workers
forked from the zygote inherit it (the flag is the memory map's, copied by fork). The engine still
reads its workers' /proc/PID/schedstat, which any process may read."""

import sys

PR_GET_DUMPABLE = 3
PR_SET_DUMPABLE = 4


def not_dumpable(forget_ctypes=False):
    """Makes this process not dumpable (ctypes on libc: Python has no prctl); raises OSError when it
    could not. `forget_ctypes`: the modules imported for it are taken out of sys.modules again (the
    zygote's: its workers must not find ctypes there unless --preload imports it)."""
    before = set(sys.modules)
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    zero = ctypes.c_ulong(0)
    if libc.prctl(PR_SET_DUMPABLE, zero, zero, zero, zero) != 0:
        raise OSError(ctypes.get_errno(), 'prctl(PR_SET_DUMPABLE, 0) failed')
    if libc.prctl(PR_GET_DUMPABLE, zero, zero, zero, zero) != 0:
        raise OSError('prctl(PR_GET_DUMPABLE) says the process is still dumpable')
    if forget_ctypes:
        del libc, ctypes
        for name in set(sys.modules) - before:
            del sys.modules[name]
