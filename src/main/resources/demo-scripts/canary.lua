-- The embedded demo's routing script (tenant demo-canary): requests with X-Canary: yes go to the
-- backend labelled track=canary (green), everyone else to track=stable (blue). It also tells the
-- backend which way it went. More scripts: examples/scripts/ and docs/scripting.md.
function on_request(req)
  if req.headers["X-Canary"] == "yes" then
    req.set_header("X-Routed-By", "canary.lua: canary")
    return route_to({ track = "canary" })
  end
  req.set_header("X-Routed-By", "canary.lua: stable")
  return route_to({ track = "stable" })
end
