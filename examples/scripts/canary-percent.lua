-- Canary by percentage: PERCENT of requests go to version=canary, chosen at random per request.
-- (For a split where each user stays on one side, see sticky-ab.lua.)
local PERCENT = 10

function on_request(req)
  if random() * 100 < PERCENT then
    return route_to({ version = "canary" })
  end
  return route_to({ version = "stable" })
end
