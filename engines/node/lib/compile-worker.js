'use strict';
// Runs in a worker thread (library.js starts it for a load): compiles scripts with QuickJS's
// compiler, never runs them. A worker because QuickJS never asks its interrupt handler while it
// parses, and its parser is quadratic in the names of a scope: a 340 KB script took 6 s, which
// in the engine's thread would stall every tenant. Here it only delays the reload, and
// library.js stops the worker when a script takes too long.
//
// Messages: in {file, source}; out {ready: true} once, then {file, error} per script (error null
// when it compiles, else "file:LINE: ...").

const { parentPort, workerData } = require('worker_threads');
const { newModule } = require('./quickjs');
const { STACK_BYTES } = require('./isolate'); // the stack a script gets in its tenant's isolate

// The compiler's memory: 64 MiB, or less within an engine's memory budget (memory-plan.js).
const CHECK_MEMORY = (workerData && workerData.memoryBytes) || 64 * 1024 * 1024;

/**
 * Compiles `source` with `quickjs` (a QuickJS module) in a runtime of its own, with the stack
 * limit of a tenant's isolate (a script nested too deeply to run there is refused here). Returns
 * null, or the error as "file:LINE: Name: message". After an error the runtime is not disposed:
 * a parser that ran out of stack leaks objects, and disposing the runtime then fails an assertion
 * that aborts the whole module; the caller drops the module instead.
 */
function compile(quickjs, file, source) {
  const runtime = quickjs.newRuntime();
  runtime.setMemoryLimit(CHECK_MEMORY);
  runtime.setMaxStackSize(STACK_BYTES);
  const context = runtime.newContext();
  const result = context.evalCode(source, file, { type: 'global', compileOnly: true });
  if (result.error) {
    // Made by the parser, not by script code: dumping it runs nothing of the script.
    const e = context.dump(result.error);
    const line = e && Number.isInteger(e.lineNumber) ? e.lineNumber : 0;
    return `${file}:${line}: ${e && e.name ? e.name : 'Error'}: ${e && e.message ? e.message : String(e)}`;
  }
  result.value.dispose();
  context.dispose();
  runtime.dispose();
  return null;
}

async function main() {
  let quickjs = null;
  const fresh = async () => (await newModule(CHECK_MEMORY)).quickjs;
  quickjs = await fresh();
  // V8 compiles the WebAssembly lazily: compile once before the first script is timed, or a cold
  // worker (the engine's start) takes longer over the same script than a warm one (a reload).
  compile(quickjs, 'keystone:warm-up', 'function f(a, b) { const o = { a, b: [b, `${a}`] }; return o.a + f(o.b[0], 1); }');
  parentPort.on('message', async ({ file, source }) => {
    let error;
    try {
      error = compile(quickjs, file, source);
    } catch (e) {
      // The module itself failed (an abort, a trap): a plain error naming the file.
      error = `${file}:0: the compiler failed: ${e instanceof Error ? e.message : String(e)}`.slice(0, 2000);
    }
    if (error !== null) quickjs = await fresh(); // never reuse a module after a failed compile
    parentPort.postMessage({ file, error });
  });
  parentPort.postMessage({ ready: true });
}

main();
