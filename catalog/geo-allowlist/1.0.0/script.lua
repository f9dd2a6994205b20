-- Geo allow-list (catalog entry geo-allowlist): the country comes from HEADER, set by the CDN or
-- edge in front of the gateway (the gateway has no address database). MODE allow lets only
-- COUNTRIES through; deny lets all others through. Codes compare in upper case.
function on_request(req)
  local p = req.params
  local country = req.headers[p.header]
  if not country or country == "" then
    if p.missing == "allow" then return end
    return reject(p.status, "country unknown")
  end
  country = country:upper()
  local found = false
  for i = 1, #p.countries do
    if p.countries[i] == country then found = true break end
  end
  if found == (p.mode == "allow") then return end
  return reject(p.status, "not available in your country")
end
