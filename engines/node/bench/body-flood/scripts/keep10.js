// A neighbour keeping 10 MiB in a global.
const cache = [];
function on_request(req) {
  if (cache.length < 10) cache.push(new Uint8Array(1 << 20).fill(cache.length + 1));
  return respond(200, 'ok ' + cache.length);
}
