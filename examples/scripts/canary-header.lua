-- Canary by header: a client that sends X-Deploy-ID: 42 is routed to the backend named
-- canary-42 when the tenant has one; everyone else goes to the backends labelled version=stable.
function on_request(req)
  local id = req.headers["X-Deploy-ID"]
  if id and req.backends["canary-" .. id] then
    return route_to("canary-" .. id)
  end
  return route_to({ version = "stable" })
end
