-- Blue/green switch (catalog entry blue-green): the live colour is a flag in the tenant's
-- key/value store (the first colour until switched). POST SWITCH_PATH?to=COLOUR with the
-- operator token flips it for every request of this instance at once.
function on_request(req)
  local p = req.params
  if req.path == p.switch_path and req.method == "POST" then
    if req.headers["X-Operator-Token"] ~= p.token then
      return reject(403, "operator token required")
    end
    local to = req.query.to
    if to ~= p.colors[1] and to ~= p.colors[2] then
      return reject(400, "to must be " .. p.colors[1] .. " or " .. p.colors[2])
    end
    kv.set("live", to)
    log("blue/green switched to", to)
    return respond(200, "live: " .. to .. "\n")
  end
  return route_to({ [p.label] = kv.get("live") or p.colors[1] })
end
