-- Conformance: a hostile tenant. X-Attack picks the attack (checks/hostile.js). Each attack on
-- the engine's limits should end in an error or a harmless answer; each attempt to reach the
-- engine's host answers with what it found, "nothing" when it found nothing. The JavaScript
-- escapes (import, constructors, promises, ...) have no Lua form: they answer what the Lua
-- sandbox lets a script reach, which must be nothing either.

local MiB = 1024 * 1024
kept = {} -- "grow": read-only once the script has loaded

-- What only the host has: none of it may be reachable from a script.
local function reachable()
  local found = {}
  for _, name in ipairs({ "io", "require", "load", "loadstring", "dofile", "loadfile", "debug", "package",
                          "luajava", "collectgarbage", "module", "print", "coroutine" }) do
    if _G[name] ~= nil then found[#found + 1] = name end
  end
  if os ~= nil then
    for _, name in ipairs({ "execute", "getenv", "exit", "remove", "rename", "tmpname" }) do
      if os[name] ~= nil then found[#found + 1] = "os." .. name end
    end
  end
  if string.dump ~= nil then found[#found + 1] = "string.dump" end
  if #found == 0 then return "nothing" end
  return table.concat(found, ",")
end

local attacks = {}
-- Work inside library calls (pattern matching over a long string), charged to the budget.
attacks["builtin-spin"] = function()
  local s = string.rep("a", 1000000)
  for i = 1, 40 do s:find(".-b") end
  return respond(200, "returned")
end
-- A backend the request did not offer.
attacks["foreign-route"] = function() return route_to("other-tenant-db") end
attacks["foreign-target"] = attacks["foreign-route"]
attacks["assign-route"] = function() return route_to("admin-backend") end
attacks["prototype-route"] = attacks["assign-route"]
-- A decision with more header edits than allowed.
attacks["decision-many-headers"] = function(req)
  for i = 1, 90000 do req.set_header("h" .. i, "") end
end
attacks["respond-huge-body"] = function() return respond(200, string.rep("x", 1.5 * MiB)) end
-- Uses its whole budget, call after call (the tenant's time share): library work charged by the byte.
attacks["burn"] = function()
  local s = string.rep("x", MiB)
  while true do hash(s) end
end
attacks["repeat-huge"] = function() return respond(200, tostring(#string.rep("x", 2 ^ 31 - 1))) end
attacks["repeat-negative"] = function() return respond(200, tostring(#string.rep("x", -1))) end
attacks["json-doubling"] = function()
  local t = "x"
  for _ = 1, 40 do t = { t, t } end
  return respond(200, tostring(#json.encode(t)))
end
attacks["json-refs"] = function()
  local big = string.rep("x", MiB)
  local t = {}
  for i = 1, 300 do t[i] = big end
  return respond(200, tostring(#json.encode(t)))
end
attacks["log-huge"] = function()
  local big = string.rep("x", MiB)
  local args = {}
  for i = 1, 300 do args[i] = big end
  log(table.unpack(args))
  return respond(200, "logged")
end
attacks["grow"] = function()
  kept[#kept + 1] = string.rep("x", 1000000) .. #kept -- under the 1 MiB string limit
  return respond(200, tostring(#kept))
end
attacks["loop"] = function()
  while true do end
end
local function deeper(n)
  return deeper(n + 1) + 1
end
attacks["recursion"] = function() return deeper(0) end
attacks["kv-fill"] = function()
  local value = string.rep("v", 64 * 1024)
  for _ = 1, 32 do kv.set("fill-" .. kv.incr("fill-n"), value) end
  return respond(200, "more")
end
attacks["kv-clear"] = function()
  local n = kv.get("fill-n") or 0
  for i = 1, n do kv.delete("fill-" .. i) end
  kv.delete("fill-n")
  return respond(200, "cleared")
end
attacks["respond-101"] = function() return respond(101, "switching") end
attacks["header-control"] = function(req) req:set_header("X-Evil", "a\1b") end
attacks["path-dotdot"] = function(req) req:set_path("/../../x") end
attacks["path-encoded"] = function(req) req:set_path("/%2e%2e/x") end
attacks["path-semicolon"] = function(req) req:set_path("/..%3b/x") end
attacks["path-fullwidth"] = function(req) req:set_path("/%ef%bc%8e%ef%bc%8e/x") end
attacks["path-nul-twice"] = function(req) req:set_path("/a/%2500/x") end
attacks["log-forge"] = function()
  log("x\nSEVERE forged")
  return respond(200, "logged")
end
attacks["kv-plant"] = function()
  kv.set("secret", "planted by another tenant")
  return respond(200, "planted")
end
-- Decodes whatever body the client sent (checks/hostile.js sends 330,000 empty arrays).
attacks["decode-body"] = function(req) return respond(200, "decoded " .. #json.decode(req.body)) end
attacks["kv-steal"] = function() return respond(200, kv.get("secret") or "nothing") end
attacks["import-result"] = function() return respond(200, kv.get("import") or "nothing") end
-- The JavaScript escapes: what the sandbox lets a script reach instead.
for _, name in ipairs({ "import-comment", "constructor", "function-this", "arrow-constructor", "host-errors",
                        "globals", "prepare-stack", "atomics-wait", "shared-memory", "eval" }) do
  attacks[name] = function() return respond(200, reachable()) end
end
-- Promise jobs, getters and proxies: their nearest Lua forms, a loop in a metamethod the API reads.
attacks["promise-loop"] = function() return respond(200, "queued") end
local looping = setmetatable({}, { __index = function() while true do end end })
attacks["getter-decision"] = function() return respond(200, "x", looping) end
attacks["proxy-labels"] = function() return route_to(looping) end
attacks["tojson-loop"] = function() return json.encode(looping) end

function on_request(req)
  local attack = attacks[req.headers["X-Attack"]]
  if attack == nil then return respond(400, "no attack " .. tostring(req.headers["X-Attack"])) end
  return attack(req)
end
