-- Conformance: scripts that run into the engine's limits. X-Case: "recursion", else a loop.
local function deeper(n)
  return deeper(n + 1) + 1
end

function on_request(req)
  if req.headers["X-Case"] == "recursion" then
    return deeper(1)
  end
  while true do
  end
end
