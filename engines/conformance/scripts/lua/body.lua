-- Conformance: what the script sees of the request body (req.body, a byte string, nil without a
-- body). X-Case "text": LEN:BODY; "bytes": LEN:FIRST:LAST (byte values); no body: "none".
function on_request(req)
  local b = req.body
  if b == nil then
    return respond(200, "none")
  elseif req.headers["X-Case"] == "text" then
    return respond(200, #b .. ":" .. b)
  end
  return respond(200, #b .. ":" .. string.byte(b, 1) .. ":" .. string.byte(b, #b))
end
