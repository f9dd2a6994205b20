"""What runs in a worker process: the sandbox it enters, the script API, and its loop. Imported by
the zygote (worker/zygote.py) before any fork; the main process imports none of it."""
