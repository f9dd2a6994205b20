-- Canary by percentage (catalog entry canary-percent): PERCENT of requests, at random per
-- request, go to the canary labels. (For a split where each user stays on one side: sticky-ab.)
function on_request(req)
  local p = req.params
  if random() * 100 < p.percent then
    return route_to(p.canary)
  end
  return route_to(p.stable)
end
