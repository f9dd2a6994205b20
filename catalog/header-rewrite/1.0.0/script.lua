-- Header and path rewrites (catalog entry header-rewrite). Request headers are removed, then
-- set (a value's {client_ip}, {host}, {request_id} and {tenant} are filled in, other {words}
-- stay as written; not ${...}, which the config itself reads as environment variables); a path that
-- starts with PATH_FROM gets PATH_TO instead; response headers are removed, then set.
local function expand(value, req)
  return (value:gsub("{([%w_]+)}", function(name)
    if name == "client_ip" or name == "host" or name == "request_id" or name == "tenant" then
      return req[name] or ""
    end
  end))
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
