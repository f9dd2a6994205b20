-- Blue/green switch: the live colour is a flag in the tenant's key/value store (blue until
-- switched). POST <prefix>/_switch?to=green with the operator token flips it for every request
-- on this instance at once; nothing is redeployed. (Flags are per instance: with several
-- instances, switch each, or use the admin API when it exists.)
local TOKEN = "change-me"

function on_request(req)
  if req.path == "/_switch" and req.method == "POST" then
    if req.headers["X-Operator-Token"] ~= TOKEN then
      return reject(403, "operator token required")
    end
    local to = req.query.to
    if to ~= "blue" and to ~= "green" then
      return reject(400, "to must be blue or green")
    end
    kv.set("live", to)
    log("blue/green switched to", to)
    return respond(200, "live: " .. to .. "\n")
  end
  return route_to({ color = kv.get("live") or "blue" })
end
