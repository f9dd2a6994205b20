-- Conformance: every decision kind, picked by the X-Case header (engines/conformance/README.md).
function on_request(req)
  local kind = req.headers["X-Case"]
  if kind == "name" then
    return route_to(req.headers["X-Target"])
  elseif kind == "labels" then
    return route_to({ version = req.headers["X-Version"] })
  elseif kind == "two-labels" then
    return route_to({ version = "canary", zone = "b" })
  elseif kind == "respond" then
    return respond(503, "down for maintenance", { ["Retry-After"] = "600", ["Content-Type"] = "text/plain" })
  elseif kind == "respond-plain" then
    return respond(204)
  elseif kind == "reject" then
    return reject(401, "missing or unknown API key")
  elseif kind == "last-wins" then
    route_to("stable")
    return reject(403, "changed my mind")
  end
  -- anything else: no decision, so "continue"
end
