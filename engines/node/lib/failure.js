'use strict';
// What a failed script call becomes: the "error" answer of the protocol, with "limit" telling a
// limit (deadline, memory, stack) from the script's own error.

/** A script call that failed: an error of the script, a limit hit, or a bad use of the API. */
class ScriptFailure extends Error {
  constructor(message, limit) {
    super(message);
    this.limit = limit;
  }
}

// QuickJS's own errors for its limits: the interrupt handler (the deadline), the memory limit,
// the stack limit (also in the parser of eval, as a SyntaxError).
const LIMIT_MESSAGES = new Set(['interrupted', 'out of memory', 'stack overflow']);

/** "file:LINE" of the first stack frame in the script's file (QuickJS: "    at f (FILE:LINE:COL)"), or just the file. */
function location(stack, file) {
  const text = typeof stack === 'string' ? stack : '';
  for (const opener of ['(', 'at ']) {
    const at = text.indexOf(opener + file + ':');
    const m = at < 0 ? null : /^:(\d+)/.exec(text.slice(at + opener.length + file.length));
    if (m) return `${file}:${m[1]}`;
  }
  return file;
}

/**
 * The failure for what the script threw, as describe() (sandbox/api.js) saw it inside the
 * isolate: {name, message, stack, limit}. "file.js:LINE: message", another error type named.
 */
function thrown(d, file) {
  const name = typeof d.name === 'string' && d.name !== 'Error' && d.name !== 'undefined' ? `${d.name}: ` : '';
  const limit = d.limit === true || ((d.name === 'InternalError' || d.name === 'SyntaxError') && LIMIT_MESSAGES.has(d.message));
  return new ScriptFailure(`${location(d.stack, file)}: ${name}${d.message}`, limit);
}

module.exports = { ScriptFailure, thrown, location };
