-- Conformance: what log() may write (checks/logs.js reads the engine's log). X-Case: "many" logs
-- X-Lines lines; "then-fail" logs 20 then fails with a limit; anything else logs one line.
function on_request(req)
  local kind = req.headers["X-Case"]
  local mark = req.headers["X-Mark"]
  if kind == "many" then
    local n = tonumber(req.headers["X-Lines"])
    for i = 1, n do log(mark .. " line " .. i) end
  elseif kind == "then-fail" then
    for i = 1, 20 do log(mark .. " line " .. i) end
    return respond(200, tostring(#string.rep("x", 2 ^ 31 - 1))) -- above the string limit
  elseif kind == "quoted" then
    log(mark .. ' said "hi" c:\\x\nSEVERE forged request_id=x')
  else
    log(mark .. " line 1")
  end
  return respond(200, "logged")
end
