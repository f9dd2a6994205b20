-- Conformance: request edits, which apply whatever the decision. X-Case picks the decision.
function on_request(req)
  local kind = req.headers["X-Case"]
  if kind == "clear-query" then
    req.set_query(nil)
    return
  end
  req.set_header("X-Client", "acme")
  req.remove_header("X-API-Key")
  req.set_path("/v2" .. req.path)
  req.set_query("page=2")
  if kind == "respond" then
    return respond(200, "ok")
  elseif kind == "route" then
    return route_to("stable")
  end
end
