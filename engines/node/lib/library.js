'use strict';
// The scripts an engine serves: every *.js in one directory (not its subdirectories), checked
// by QuickJS's compiler, by name (the file name without .js). Immutable; a reload builds a new library and keeps the
// old one when any script fails to compile. Mirrors engine/ScriptLibrary.java.

const fs = require('fs');
const path = require('path');

// A script is only compiled here (QuickJS's parser, in a runtime of its own with a memory limit
// and a time limit), never run: it runs in its tenant's isolate (isolate.js).
const CHECK_MEMORY = 64 * 1024 * 1024;
const CHECK_MS = 2000;

class LoadError extends Error {
  constructor(errors) {
    super(errors.join('\n'));
    this.errors = errors;
  }
}

/** Compiles one script with `quickjs` (a QuickJS module); `file` names it in every message. Throws an Error with "file:LINE: ...". */
function compile(quickjs, name, file, source) {
  const runtime = quickjs.newRuntime();
  try {
    runtime.setMemoryLimit(CHECK_MEMORY);
    const until = Date.now() + CHECK_MS;
    runtime.setInterruptHandler(() => Date.now() > until);
    const context = runtime.newContext();
    const result = context.evalCode(source, file, { type: 'global', compileOnly: true });
    if (result.error) {
      // Made by the parser, not by script code: dumping it runs nothing of the script.
      const e = context.dump(result.error);
      result.error.dispose();
      context.dispose();
      const line = e && Number.isInteger(e.lineNumber) ? e.lineNumber : 0;
      throw new Error(`${file}:${line}: ${e && e.name ? e.name : 'Error'}: ${e && e.message ? e.message : String(e)}`);
    }
    result.value.dispose();
    context.dispose();
    return { name, file, source };
  } finally {
    runtime.dispose();
  }
}

/** Loads every *.js of `dir`; throws a LoadError listing every error when any script fails. */
function load(quickjs, dir, version) {
  const scripts = new Map();
  const errors = [];
  let files = [];
  try {
    files = fs.readdirSync(dir)
      .filter((f) => f.endsWith('.js') && fs.statSync(path.join(dir, f)).isFile())
      .sort();
  } catch (e) {
    errors.push(`${dir}: cannot read the scripts directory: ${e.message}`);
  }
  for (const f of files) {
    const file = path.join(dir, f);
    try {
      scripts.set(f.slice(0, -3), compile(quickjs, f.slice(0, -3), file, fs.readFileSync(file, 'utf8')));
    } catch (e) {
      errors.push(e.message);
    }
  }
  if (errors.length > 0) throw new LoadError(errors);
  return { dir, scripts, version };
}

module.exports = { load, compile, LoadError };
