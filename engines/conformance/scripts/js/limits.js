// Conformance: scripts that run into the engine's limits. X-Case: "recursion", else a loop.
function deeper(n) {
  return deeper(n + 1) + 1;
}

function on_request(req) {
  if (req.headers['X-Case'] === 'recursion') {
    return deeper(1);
  }
  while (true) {
  }
}
