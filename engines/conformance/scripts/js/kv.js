// Conformance: the tenant's key/value store. X-Op picks the operation on the key X-Key; the
// answer's body is "type:value" of what kv.get (or kv.incr) gives afterwards, "nil:nil" if none.
function show(v) {
  return v === undefined || v === null ? 'nil:nil' : `${typeof v}:${String(v)}`;
}

function on_request(req) {
  const op = req.headers['X-Op'], key = req.headers['X-Key'];
  const ttl = Number(req.headers['X-TTL'] || '0');
  if (op === 'incr') {
    return respond(200, show(kv.incr(key, 1, ttl)));
  } else if (op === 'set-string') {
    kv.set(key, req.headers['X-Value'], ttl);
  } else if (op === 'set-number') {
    kv.set(key, Number(req.headers['X-Value']), ttl);
  } else if (op === 'set-boolean') {
    kv.set(key, req.headers['X-Value'] === 'true', ttl);
  } else if (op === 'set-big') {
    kv.set(key, 'x'.repeat(64 * 1024 + 1));
  } else if (op === 'delete') {
    kv.delete(key);
  }
  return respond(200, show(kv.get(key)));
}
