'use strict';
// The scripts an engine serves: every *.js in one directory (not its subdirectories), by name
// (the file name without .js), each checked by QuickJS's compiler. Immutable; a reload builds a
// new library and keeps the old one when any script fails. Mirrors engine/ScriptLibrary.java.
//
// Loading is bounded, because it happens while the engine serves (a reload) and a script is a
// tenant's: a file above MAX_SCRIPT_BYTES is refused unread, and scripts are compiled in a worker
// thread (compile-worker.js), CHECK_MS each at most, so that a script slow to compile delays
// the reload, never another tenant's call, and is refused with an error naming it.

const fs = require('fs');
const path = require('path');
const { Worker } = require('worker_threads');

const MAX_SCRIPT_BYTES = 1024 * 1024;
const CHECK_MS = 2000;
const WORKER_START_MS = 30000; // loading the compiler into a new thread (tens of ms when idle)

class LoadError extends Error {
  constructor(errors) {
    super(errors.join('\n'));
    this.errors = errors;
  }
}

/** A compile worker, started when needed and replaced when it had to be stopped. */
class Compiler {
  constructor(memoryBytes) {
    this.memoryBytes = memoryBytes;
    this.worker = null;
    this.ready = null;
  }

  start() {
    const worker = new Worker(path.join(__dirname, 'compile-worker.js'), {
      workerData: { memoryBytes: this.memoryBytes },
      resourceLimits: { maxOldGenerationSizeMb: 128, maxYoungGenerationSizeMb: 16 },
      stdout: true, // emscripten's own prints, if any, are not the engine's log lines
      stderr: true,
    });
    worker.stdout.resume();
    worker.stderr.resume();
    this.worker = worker;
    this.ready = this.reply(worker, WORKER_START_MS, 'the compiler did not start');
  }

  stop() {
    if (this.worker !== null) this.worker.terminate();
    this.worker = null;
  }

  /** The worker's next message; {error: why} when it fails, exits or takes longer than `ms`. */
  reply(worker, ms, late) {
    return new Promise((resolve) => {
      const done = (m) => {
        clearTimeout(timer);
        worker.off('message', done);
        worker.off('error', failed);
        worker.off('exit', exited);
        resolve(m);
      };
      const failed = (e) => done({ error: `the compiler failed: ${e.message}` });
      const exited = (code) => done({ error: `the compiler stopped (exit code ${code})` });
      const timer = setTimeout(() => done({ error: late, late: true }), ms);
      worker.on('message', done);
      worker.on('error', failed);
      worker.on('exit', exited);
    });
  }

  /** null when `source` compiles, else the error, naming `file`. */
  async check(file, source, limitMs = CHECK_MS) {
    if (this.worker === null) this.start();
    const started = await this.ready;
    if (started.error !== undefined) {
      this.stop();
      return `${file}: ${started.error}`;
    }
    const answer = this.reply(this.worker, limitMs, `${file}: does not compile within ${limitMs} ms (a script must be far quicker to compile than its deadline)`);
    this.worker.postMessage({ file, source });
    const m = await answer;
    if (m.file === file) return m.error;
    this.stop(); // still compiling, or gone: the next script gets a new worker
    return m.error.startsWith(`${file}:`) ? m.error : `${file}: ${m.error}`;
  }
}

/** The *.js files of `dir`, sorted; throws when the directory cannot be read. */
function scriptFiles(dir) {
  return fs.readdirSync(dir)
    .filter((f) => f.endsWith('.js') && fs.statSync(path.join(dir, f)).isFile())
    .sort();
}

/**
 * Loads every *.js of `dir`; rejects with a LoadError listing every error when any script fails.
 * With `partial` (the engine's start), a script that fails is served as failing instead
 * ({name, file, error}: every call of it fails with that error), so that one tenant's broken
 * script cannot keep the engine, and every other tenant, from starting (attack on the Node engine,
 * round 2, N2-2); it gets twice the compile time of a reload, so that a script a running engine
 * accepted is not refused at the next start only because the host was busier.
 */
async function load(dir, version, { partial = false, compileBytes = 64 * 1024 * 1024 } = {}) {
  const scripts = new Map();
  const errors = [];
  let files;
  try {
    files = scriptFiles(dir);
  } catch (e) {
    throw new LoadError([`${dir}: cannot read the scripts directory: ${e.message}`]);
  }
  const compiler = new Compiler(compileBytes);
  try {
    for (const f of files) {
      const file = path.join(dir, f);
      try {
        const size = fs.statSync(file).size;
        if (size > MAX_SCRIPT_BYTES) {
          errors.push(`${file}: ${size} bytes, above the limit of ${MAX_SCRIPT_BYTES} (1 MiB) for a script`);
          continue;
        }
        const source = fs.readFileSync(file, 'utf8');
        const error = await compiler.check(file, source, partial ? 2 * CHECK_MS : CHECK_MS);
        if (error !== null) fail(f, file, error);
        else scripts.set(f.slice(0, -3), { name: f.slice(0, -3), file, source });
      } catch (e) {
        fail(f, file, `${file}: ${e.message}`);
      }
    }
  } finally {
    compiler.stop();
  }
  if (errors.length > 0 && !partial) throw new LoadError(errors);
  return { dir, scripts, version, failing: errors };

  function fail(f, file, error) {
    errors.push(error);
    if (partial) scripts.set(f.slice(0, -3), { name: f.slice(0, -3), file, source: null, error });
  }
}

module.exports = { load, LoadError, MAX_SCRIPT_BYTES, CHECK_MS };
