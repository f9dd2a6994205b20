-- Conformance: a script that fails at run time. The suite checks the failing lines, 6 and 9.
function on_request(req)
  local kind = req.headers["X-Case"]
  if kind == "explicit" then
    -- the next line raises "boom"
    error("boom")
  elseif kind == "nil-index" then
    local missing = nil
    return missing.field
  end
end
