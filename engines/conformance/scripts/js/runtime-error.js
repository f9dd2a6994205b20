// Conformance: a script that fails at run time. The suite checks the failing lines, 6 and 9.
function on_request(req) {
  const kind = req.headers['X-Case'];
  if (kind === 'explicit') {
    // the next line raises "boom"
    throw new Error('boom');
  } else if (kind === 'nil-index') {
    const missing = undefined;
    return missing.field;
  }
}
