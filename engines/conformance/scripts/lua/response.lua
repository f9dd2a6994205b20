-- Conformance: the response phase. on_request counts the call in kv (or fails, X-Case: fail);
-- on_response picks what to do from the response's X-Case header.
function on_request(req)
  if req.headers["X-Case"] == "fail" then
    error("decide failed")
  end
  kv.incr("decided", 1)
end

function on_response(res)
  local kind = res.headers["x-case"] -- sent as X-Case
  if kind == "teapot" then
    res.set_status(418)
    res.set_header("X-Served-By", res.backend)
    res.remove_header("X-Internal")
  elseif kind == "set-status" then
    res.set_status(tonumber(res.headers["X-To"]))
  elseif kind == "header-only" then
    res.set_header("X-Note", "kept")
  elseif kind == "framing" then
    res.set_header("Content-Length", "1")
  elseif kind == "framing-remove" then
    res.remove_header("transfer-encoding")
  elseif kind == "crlf" then
    res.set_header("X-Injected", "a\r\nX-Evil: 1")
  elseif kind == "bad-name" then
    res.set_header("Bad Name", "x")
  elseif kind == "boom" then
    error("boom in on_response")
  elseif kind == "loop" then
    while true do end
  elseif kind == "echo" then
    local seen = {
      status = res.status, backend = res.backend, method = res.method, path = res.path,
      tenant = res.tenant, request_id = res.request_id,
      content_type = res.headers["content-type"], -- sent as Content-Type
      first_multi = res.headers["X-MULTI"], -- sent twice
      missing = res.headers["X-Not-There"],
      decided = kv.get("decided"),
    }
    res.set_header("X-Seen", json.encode(seen))
  elseif kind == "too-many" then
    for i = 1, 101 do res.set_header("X-R" .. i, "v") end
  end
end
