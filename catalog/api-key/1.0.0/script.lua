-- API keys (catalog entry api-key): an unknown or missing key is answered 401; a known one is
-- removed and the backend is told the client's name in CLIENT_HEADER instead.
function on_request(req)
  local p = req.params
  local key = req.headers[p.header]
  local client = key and p.keys[key]
  if not client then
    return reject(401, "missing or unknown API key")
  end
  req.remove_header(p.header)
  req.set_header(p.client_header, client)
end
