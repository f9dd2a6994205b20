-- IP allow-list (catalog entry ip-allowlist): the client's address (IPv4, IPv6, or IPv4 mapped
-- into IPv6) must be in one of ALLOW's networks; anything else, an unreadable address included,
-- gets STATUS. A malformed network in ALLOW is a script error (the tenant's on_script_error,
-- fail_closed by default), never a silently wider or narrower list.

-- An address as a list of bytes (4 or 16), or nil.
local function v4(s)
  local a, b, c, d = s:match("^(%d+)%.(%d+)%.(%d+)%.(%d+)$")
  if not a then return nil end
  local out = { tonumber(a), tonumber(b), tonumber(c), tonumber(d) }
  for i = 1, 4 do
    if out[i] > 255 then return nil end
  end
  return out
end

local function groups(part, out)
  if part == "" then return true end
  for g in (part .. ":"):gmatch("([^:]*):") do
    if not g:match("^%x%x?%x?%x?$") then return false end
    out[#out + 1] = tonumber(g, 16)
  end
  return true
end

local function v6(s)
  local head, tail = s:match("^(.-)::(.*)$")
  local gs = {}
  if head then
    local h, t = {}, {}
    if not groups(head, h) or not groups(tail, t) or #h + #t > 7 then return nil end
    for i = 1, #h do gs[#gs + 1] = h[i] end
    for _ = 1, 8 - #h - #t do gs[#gs + 1] = 0 end
    for i = 1, #t do gs[#gs + 1] = t[i] end
  elseif not groups(s, gs) or #gs ~= 8 then
    return nil
  end
  local out = {}
  for i = 1, 8 do
    out[#out + 1] = math.floor(gs[i] / 256)
    out[#out + 1] = gs[i] % 256
  end
  return out
end

local function address(s)
  if not s then return nil end
  local mapped = s:lower():match("^::ffff:(%d+%.%d+%.%d+%.%d+)$")
  return v4(mapped or s) or v6(s)
end

local function network(text)
  local addr, bits = text:match("^([^/]+)/(%d+)$")
  local bytes = address(addr or text)
  if not bytes then error("ip-allowlist: not an address: " .. text) end
  bits = bits and tonumber(bits) or #bytes * 8
  if bits > #bytes * 8 then error("ip-allowlist: prefix longer than the address: " .. text) end
  return { bytes = bytes, bits = bits }
end

local function contains(net, bytes)
  if #bytes ~= #net.bytes then return false end
  local bits = net.bits
  for i = 1, #bytes do
    if bits <= 0 then return true end
    if bits >= 8 then
      if bytes[i] ~= net.bytes[i] then return false end
    else
      local scale = 2 ^ (8 - bits)
      return math.floor(bytes[i] / scale) == math.floor(net.bytes[i] / scale)
    end
    bits = bits - 8
  end
  return true
end

-- Every network is read for every request (a script keeps nothing between requests but kv):
-- hence at most 200 of them, well within the instruction budget.
function on_request(req)
  local p = req.params
  local bytes = address(req.client_ip)
  for i = 1, #p.allow do
    local net = network(p.allow[i])
    if bytes and contains(net, bytes) then return end
  end
  return reject(p.status, "client address not allowed")
end
