-- Rate limit by header (catalog entry rate-limit-header): each value of HEADER (else each client
-- address, or a 400 when MISSING is "reject") gets LIMIT requests per WINDOW_SECONDS; past it,
-- STATUS with Retry-After. Counters live in the tenant's key/value store (per gateway instance),
-- in fixed windows that start at a client's first request: kv.incr gives a new counter the TTL.
-- Values longer than 200 bytes (UTF-8) are refused rather than shortened: two clients must never
-- share a counter, or one could spend the other's budget.
function on_request(req)
  local p = req.params
  local who = req.headers[p.header]
  if who then
    if #who > 200 then
      return reject(400, p.header .. " is longer than 200 bytes")
    end
    who = "h:" .. who
  elseif p.missing == "reject" then
    return reject(400, "missing " .. p.header)
  else
    who = "ip:" .. (req.client_ip or "")
  end
  local n = kv.incr("rl:" .. who, 1, p.window_seconds)
  if n > p.limit then
    return respond(p.status, "rate limit exceeded: " .. p.limit .. " requests per " .. p.window_seconds .. " s\n",
      { ["Retry-After"] = tostring(p.window_seconds), ["Content-Type"] = "text/plain" })
  end
end
