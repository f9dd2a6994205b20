'use strict';
// Maintenance page (catalog entry maintenance): everyone gets STATUS with MESSAGE and a
// Retry-After, but a request carrying BYPASS_HEADER: BYPASS_VALUE goes on to the backends.
function on_request(req) {
  const p = req.params;
  if (req.headers[p.bypass_header] === p.bypass_value) {
    return;
  }
  return respond(p.status, p.message, { 'Retry-After': String(p.retry_after), 'Content-Type': 'text/plain' });
}
