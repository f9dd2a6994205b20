-- Conformance: a script of the original engine's interface, on_route_request(request, backends),
-- served by POST /route/legacy (the script named like the tenant). X-Case picks the answer.
function on_route_request(request, backends)
  local kind = request.headers["x-case"]
  if kind == "reject" then
    return { reject = true, reject_reason = "blocked" }
  elseif kind == "nothing" then
    return nil
  end
  local seen = {}
  for _, b in ipairs(backends) do
    seen[#seen + 1] = b.name .. "=" .. tostring(b.health)
  end
  return {
    selected_backend = backends[#backends].name,
    modified_headers = {
      ["X-Seen"] = table.concat(seen, ","),
      ["X-Host"] = request.host,
      ["X-Method"] = request.method,
      ["X-Body"] = "[" .. request.body .. "]",
    },
    modified_path = "/legacy" .. request.path,
  }
end
