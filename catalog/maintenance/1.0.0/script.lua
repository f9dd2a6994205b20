-- Maintenance page (catalog entry maintenance): everyone gets STATUS with MESSAGE and a
-- Retry-After, but a request carrying BYPASS_HEADER: BYPASS_VALUE goes on to the backends.
function on_request(req)
  local p = req.params
  if req.headers[p.bypass_header] == p.bypass_value then
    return
  end
  return respond(p.status, p.message, { ["Retry-After"] = tostring(p.retry_after), ["Content-Type"] = "text/plain" })
end
