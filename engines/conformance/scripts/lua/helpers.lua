-- Conformance: the helpers hash, random, now and json, picked by X-Case; answers JSON.
function on_request(req)
  local kind = req.headers["X-Case"]
  local out = {}
  if kind == "hash" then
    for i, s in ipairs(req.header_values("X-Hash-Input")) do
      out[i] = hash(s)
    end
  elseif kind == "random" then
    out = { units = {}, dice = {}, ranges = {} }
    for i = 1, 50 do
      out.units[i] = random()
      out.dice[i] = random(6)
      out.ranges[i] = random(5, 7)
    end
  elseif kind == "now" then
    out = { now = now() }
  elseif kind == "json" then
    local d = json.decode('{"list":[1,2,3],"name":"x","flag":true,"nested":{"k":"v"}}')
    out = { n = #d.list, sum = d.list[1] + d.list[2] + d.list[3], name = d.name, flag = d.flag, k = d.nested.k }
    out.text = json.encode({ a = "b" })
  end
  return respond(200, json.encode(out))
end
