-- Conformance: the tenant's key/value store. X-Op picks the operation on the key X-Key; the
-- answer's body is "type:value" of what kv.get (or kv.incr) gives afterwards, "nil:nil" if none.
local function show(v)
  return type(v) .. ":" .. tostring(v)
end

function on_request(req)
  local op, key = req.headers["X-Op"], req.headers["X-Key"]
  local ttl = tonumber(req.headers["X-TTL"] or "0")
  if op == "incr" then
    return respond(200, show(kv.incr(key, 1, ttl)))
  elseif op == "set-string" then
    kv.set(key, req.headers["X-Value"], ttl)
  elseif op == "set-number" then
    kv.set(key, tonumber(req.headers["X-Value"]), ttl)
  elseif op == "set-boolean" then
    kv.set(key, req.headers["X-Value"] == "true", ttl)
  elseif op == "set-big" then
    kv.set(key, string.rep("x", 64 * 1024 + 1))
  elseif op == "delete" then
    kv.delete(key)
  end
  return respond(200, show(kv.get(key)))
end
