// Conformance: a script of the original engine's interface, on_route_request(request, backends),
// served by POST /route/legacy (the script named like the tenant). X-Case picks the answer.
function on_route_request(request, backends) {
  const kind = request.headers['x-case'];
  if (kind === 'reject') {
    return { reject: true, reject_reason: 'blocked' };
  } else if (kind === 'nothing') {
    return null;
  } else if (kind === 'many-headers') {
    const many = {};
    for (let i = 1; i <= 101; i++) many['X-H' + i] = 'v';
    return { modified_headers: many };
  }
  const seen = [];
  for (const b of backends) {
    seen.push(b.name + '=' + String(b.health));
  }
  return {
    selected_backend: backends[backends.length - 1].name,
    modified_headers: {
      'X-Seen': seen.join(','),
      'X-Host': request.host,
      'X-Method': request.method,
      'X-Body': '[' + request.body + ']',
    },
    modified_path: '/legacy' + request.path,
  };
}
