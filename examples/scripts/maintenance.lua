-- Maintenance page: everyone gets a 503 with Retry-After, except requests carrying the bypass
-- header (the team checking the deployment), which go through as usual.
local BYPASS = "let-me-in"
local PAGE = [[<!doctype html>
<title>Back soon</title>
<h1>We are doing some maintenance</h1>
<p>Please come back in a few minutes.</p>
]]

function on_request(req)
  if req.headers["X-Maintenance-Bypass"] == BYPASS then
    return -- route as usual
  end
  return respond(503, PAGE, { ["Content-Type"] = "text/html; charset=utf-8", ["Retry-After"] = "600" })
end
