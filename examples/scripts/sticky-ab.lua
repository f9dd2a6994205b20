-- Sticky A/B split: the ab_user cookie (or, without one, the client address) is hashed, and the
-- same value always lands in the same bucket, on every instance and every version (hash is a
-- fixed function). SHARE_B percent of users see variant b.
local SHARE_B = 50

local function cookie(req, name)
  local header = req.headers["Cookie"]
  if not header then return nil end
  return (";" .. header):match(";%s*" .. name .. "=([^;]+)")
end

function on_request(req)
  local who = cookie(req, "ab_user") or req.client_ip or ""
  if hash(who) % 100 < SHARE_B then
    req.set_header("X-Variant", "b")
    return route_to({ variant = "b" })
  end
  req.set_header("X-Variant", "a")
  return route_to({ variant = "a" })
end
