"""The Keystone script engine for Python scripts (engines/python/README.md).

The main process (HTTP server, protocol, kv, logs, scheduling: every module of this package but
`worker/`) never runs script code; scripts run in worker processes (`worker/`), one per tenant,
forked by a zygote and sandboxed (rlimits, seccomp) before any script code runs."""
