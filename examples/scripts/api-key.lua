-- API-key check: requests need a known X-API-Key; the backend receives the client's name in
-- X-Client and never sees the key itself.
local KEYS = {
  ["k-7f3a9c"] = "acme",
  ["k-51d2e8"] = "globex",
}

function on_request(req)
  local client = KEYS[req.headers["X-API-Key"] or ""]
  if not client then
    return reject(401, "missing or unknown API key")
  end
  req.remove_header("X-API-Key")
  req.set_header("X-Client", client)
end
