'use strict';
// Canary by percentage (catalog entry canary-percent): PERCENT of requests, at random per
// request, go to the canary labels. (For a split where each user stays on one side: sticky-ab.)
function on_request(req) {
  const p = req.params;
  if (random() * 100 < p.percent) {
    return route_to(p.canary);
  }
  return route_to(p.stable);
}
