-- Canary by header (catalog entry canary-header): a request whose header names a canary the
-- tenant has (PREFIX .. value) goes there; every other request goes to the stable labels.
function on_request(req)
  local p = req.params
  local id = req.headers[p.header]
  if id and req.backends[p.prefix .. id] then
    return route_to(p.prefix .. id)
  end
  return route_to(p.stable)
end
