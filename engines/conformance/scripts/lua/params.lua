-- Conformance: script parameters (docs/engine-protocol.md, "Script parameters"): req.params in
-- on_request, res.params in on_response, an empty table when the call has none; read-only: the
-- writes of X-Case "write" (line 9), "write-nested" (10), "write-list" (11) and on_response's
-- "write" (19) must fail there (each raises an error). "default" answers params.limit or 10;
-- "echo" answers what the script saw (seen, below) and sets X-Limit to params.limit or 10.
-- Keep the lines as in scripts/js/params.js: the suite checks them.
function on_request(req)
  local p, c = req.params, req.headers["X-Case"]
  if c == "write" then p.limit = 5 end
  if c == "write-nested" then p.nested.flag = false end
  if c == "write-list" then p.list[1] = "z" end
  if c == "default" then return respond(200, tostring(p.limit or 10)) end
  req.set_header("X-Limit", tostring(p.limit or 10))
  return respond(200, json.encode(seen(p)))
end

function on_response(res)
  local p = res.params
  if res.headers["X-Case"] == "write" then p.limit = 5 end
  res.set_header("X-Seen", json.encode(seen(p)))
end

-- What a script sees of its params: that they are a table (not nil), how many keys, and the
-- values the suite sends (what it did not send is left out).
function seen(p)
  local count = 0
  for _ in pairs(p) do count = count + 1 end
  local list, nested = p.list, p.nested
  return {
    kind = type(p) == "table" and "object" or type(p),
    count = count, limit = p.limit, header = p.header, id = p.id, unicode = p["ünï"],
    second = list and list[2], list_length = list and #list,
    flag = nested and nested.flag,
  }
end
