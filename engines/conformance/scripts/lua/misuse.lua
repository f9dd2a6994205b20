-- Conformance: wrong uses of the API, each a script error. X-Case picks one.
function on_request(req)
  local kind = req.headers["X-Case"]
  if kind == "unknown-backend" then
    route_to("no-such-backend")
  elseif kind == "unknown-labels" then
    route_to({ version = "no-such-version" })
  elseif kind == "respond-status-low" then
    respond(99, "x")
  elseif kind == "respond-status-high" then
    respond(600, "x")
  elseif kind == "reject-status" then
    reject(399, "x")
  elseif kind == "framing-header" then
    req.set_header("Content-Length", "5")
  elseif kind == "framing-header-lower" then
    req.remove_header("transfer-encoding")
  elseif kind == "connection-header" then
    req.set_header("Connection", "close")
  elseif kind == "crlf-value" then
    req.set_header("X-Injected", "a\r\nX-Evil: 1")
  elseif kind == "nul-value" then
    req.set_header("X-Injected", "a\0b")
  elseif kind == "bad-name" then
    req.set_header("Bad Name", "x")
  elseif kind == "bad-path" then
    req.set_path("no-slash")
  elseif kind == "respond-crlf" then
    respond(200, "x", { ["X-Injected"] = "a\r\nX-Evil: 1" })
  elseif kind == "respond-framing" then
    respond(200, "x", { ["Content-Length"] = "1" })
  elseif kind == "path-space" then
    req.set_path("/a b")
  elseif kind == "path-query" then
    req.set_path("/a?b=1")
  elseif kind == "query-hash" then
    req.set_query("a=1#frag")
  elseif kind == "name-not-token" then
    req.set_header("X-{bad}", "v")
  elseif kind == "path-non-ascii" then
    req.set_path("/caf\195\169")
  elseif kind == "query-not-uri" then
    req.set_query("a=<x>")
  elseif kind == "path-too-long" then
    req.set_path("/" .. ("a"):rep(9000))
  elseif kind == "value-too-long" then
    req.set_header("X-Big", ("v"):rep(9000))
  elseif kind == "name-too-long" then
    req.set_header("X-" .. ("n"):rep(300), "v")
  elseif kind == "too-many-headers" then
    for i = 1, 101 do req.set_header("X-H" .. i, "v") end
  elseif kind == "header-bytes" then
    for i = 1, 9 do req.set_header("X-B" .. i, ("v"):rep(8000)) end
  elseif kind == "respond-too-many-headers" then
    local headers = {}
    for i = 1, 101 do headers["X-H" .. i] = "v" end
    respond(200, "x", headers)
  elseif kind == "query-too-long" then
    req.set_query("a=" .. ("q"):rep(9000))
  elseif kind == "path-bad-percent" then
    req.set_path("/a%zz")
  elseif kind == "query-bad-percent" then
    req.set_query("a=%4")
  elseif kind == "path-hash" then
    req.set_path("/a#frag")
  end
end
