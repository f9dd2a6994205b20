-- Conformance: a script of the original engine's interface, on_route_request(request, backends),
-- served by POST /route/legacy (the script named like the tenant). X-Case picks the answer.
function on_route_request(request, backends)
  local kind = request.headers["x-case"]
  if kind == "reject" then
    return { reject = true, reject_reason = "blocked" }
  elseif kind == "nothing" then
    return nil
  elseif kind == "many-headers" then
    local many = {}
    for i = 1, 101 do many["X-H" .. i] = "v" end
    return { modified_headers = many }
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
