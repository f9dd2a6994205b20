'use strict';
// The scripts an engine serves: every *.js in one directory (not its subdirectories), compiled,
// by name (the file name without .js). Immutable; a reload builds a new library and keeps the
// old one when any script fails to compile. Mirrors engine/ScriptLibrary.java.

const fs = require('fs');
const path = require('path');
const vm = require('vm');

// Dynamic import() would hand the script an object of the engine's realm (the rejection error),
// which leads straight to `process`; Node 20 offers no way to refuse it inside the context, so a
// script that contains it is refused when it loads. A guard against the obvious, not a boundary.
const DYNAMIC_IMPORT = /(?<![\w$.]\s*)\bimport\s*(?:\/\*[\s\S]*?\*\/\s*|\/\/[^\n]*\n\s*)*[(.]/;

class LoadError extends Error {
  constructor(errors) {
    super(errors.join('\n'));
    this.errors = errors;
  }
}

/** "file.js:LINE: message" for an error thrown by new vm.Script (its stack starts with "file:LINE"). */
function syntaxMessage(file, e) {
  const first = String(e.stack || '').split('\n', 1)[0];
  const m = first.startsWith(file + ':') ? /:(\d+)$/.exec(first) : null;
  return `${file}:${m ? m[1] : 0}: ${e.name}: ${e.message}`;
}

/** Compiles one script; `file` names it in every message. Throws an Error with "file:LINE: ...". */
function compile(name, file, source) {
  const imp = DYNAMIC_IMPORT.exec(source);
  if (imp) {
    const line = source.slice(0, imp.index).split('\n').length;
    throw new Error(`${file}:${line}: import is not available to scripts (not even the word 'import(' in a comment or string)`);
  }
  try {
    return { name, file, code: new vm.Script(source, { filename: file }) };
  } catch (e) {
    throw new Error(syntaxMessage(file, e));
  }
}

/** Loads every *.js of `dir`; throws a LoadError listing every error when any script fails. */
function load(dir, version) {
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
      scripts.set(f.slice(0, -3), compile(f.slice(0, -3), file, fs.readFileSync(file, 'utf8')));
    } catch (e) {
      errors.push(e.message);
    }
  }
  if (errors.length > 0) throw new LoadError(errors);
  return { dir, scripts, version };
}

module.exports = { load, compile, LoadError };
