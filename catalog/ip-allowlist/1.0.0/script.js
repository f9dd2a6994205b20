'use strict';
// IP allow-list (catalog entry ip-allowlist): the client's address (IPv4, IPv6, or IPv4 mapped
// into IPv6) must be in one of ALLOW's networks; anything else, an unreadable address included,
// gets STATUS. A malformed network in ALLOW is a script error (the tenant's on_script_error,
// fail_closed by default), never a silently wider or narrower list.

// An address as a list of bytes (4 or 16), or undefined.
function v4(s) {
  const m = /^([0-9]+)\.([0-9]+)\.([0-9]+)\.([0-9]+)$/.exec(s);
  if (m === null) return undefined;
  const out = [Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4])];
  for (let i = 0; i < 4; i++) {
    if (out[i] > 255) return undefined;
  }
  return out;
}

function groups(part, out) {
  if (part === '') return true;
  for (const g of part.split(':')) {
    if (!/^[0-9A-Fa-f]{1,4}$/.test(g)) return false;
    out.push(parseInt(g, 16));
  }
  return true;
}

function v6(s) {
  const at = s.indexOf('::');
  const gs = [];
  if (at >= 0) {
    const h = [], t = [];
    if (!groups(s.slice(0, at), h) || !groups(s.slice(at + 2), t) || h.length + t.length > 7) return undefined;
    const zeros = 8 - h.length - t.length;
    for (let i = 0; i < h.length; i++) gs.push(h[i]);
    for (let i = 0; i < zeros; i++) gs.push(0);
    for (let i = 0; i < t.length; i++) gs.push(t[i]);
  } else if (!groups(s, gs) || gs.length !== 8) {
    return undefined;
  }
  const out = [];
  for (let i = 0; i < 8; i++) {
    out.push(Math.floor(gs[i] / 256), gs[i] % 256);
  }
  return out;
}

function address(s) {
  if (s === undefined || s === null) return undefined;
  const mapped = /^::ffff:([0-9]+\.[0-9]+\.[0-9]+\.[0-9]+)$/.exec(s.toLowerCase());
  return v4(mapped !== null ? mapped[1] : s) || v6(s);
}

function network(text) {
  const m = /^([^/]+)\/([0-9]+)$/.exec(text);
  const bytes = address(m !== null ? m[1] : text);
  if (bytes === undefined) throw new Error('ip-allowlist: not an address: ' + text);
  const bits = m !== null ? Number(m[2]) : bytes.length * 8;
  if (bits > bytes.length * 8) throw new Error('ip-allowlist: prefix longer than the address: ' + text);
  return { bytes, bits };
}

function contains(net, bytes) {
  if (bytes.length !== net.bytes.length) return false;
  let bits = net.bits;
  for (let i = 0; i < bytes.length; i++) {
    if (bits <= 0) return true;
    if (bits >= 8) {
      if (bytes[i] !== net.bytes[i]) return false;
    } else {
      const scale = 2 ** (8 - bits);
      return Math.floor(bytes[i] / scale) === Math.floor(net.bytes[i] / scale);
    }
    bits -= 8;
  }
  return true;
}

// Every network is read for every request (a script keeps nothing between requests but kv):
// hence at most 200 of them.
function on_request(req) {
  const p = req.params;
  const bytes = address(req.client_ip);
  for (let i = 0; i < p.allow.length; i++) {
    const net = network(p.allow[i]);
    if (bytes !== undefined && contains(net, bytes)) return;
  }
  return reject(p.status, 'client address not allowed');
}
