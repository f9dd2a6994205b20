-- Header and path rewrites (catalog entry header-rewrite). Request headers are removed, then
-- set (a value's {client_ip}, {host}, {request_id} and {tenant} are filled in, other {words}
-- stay as written; not ${...}, which the config itself reads as environment variables); a path that
-- starts with PATH_FROM gets PATH_TO instead; response headers are removed, then set.
-- Four plain replacements, each one pass over the value: a pattern such as {([%w_]+)} would
-- backtrack over every "{" that is never closed (15 values of 4 KiB of "{a{a{a..." used up a
-- call's instruction budget).
local NAMES = { "client_ip", "host", "request_id", "tenant" }

local function expand(value, req)
  for i = 1, #NAMES do
    local name = NAMES[i]
    value = value:gsub("{" .. name .. "}", function() return req[name] or "" end)
  end
  return value
end

function on_request(req)
  local p = req.params
  for _, name in ipairs(p.request_remove) do req.remove_header(name) end
  for name, value in pairs(p.request_set) do req.set_header(name, expand(value, req)) end
  local from = p.path_from
  if from and req.path:sub(1, #from) == from then
    local rest = req.path:sub(#from + 1)
    local to = p.path_to
    if to:sub(-1) == "/" and rest:sub(1, 1) == "/" then rest = rest:sub(2) end
    req.set_path(to .. rest)
  end
end

function on_response(res)
  local p = res.params
  for _, name in ipairs(p.response_remove) do res.remove_header(name) end
  for name, value in pairs(p.response_set) do res.set_header(name, value) end
end
