-- Sticky A/B split (catalog entry sticky-ab): the user's cookie (or, without one, the client
-- address) is hashed; the same value always lands in the same bucket, on every instance and
-- version (hash is FNV-1a). PERCENT_B percent of users get variant b.
local function cookie(req, name)
  local header = req.headers["Cookie"]
  if not header then return nil end
  local pattern = ";%s*" .. name:gsub("%W", "%%%0") .. "=([^;]+)"
  return (";" .. header):match(pattern)
end

function on_request(req)
  local p = req.params
  local who = cookie(req, p.cookie) or req.client_ip or ""
  local variant = hash(who) % 100 < p.percent_b and "b" or "a"
  req.set_header(p.variant_header, variant)
  return route_to({ [p.label] = variant })
end
