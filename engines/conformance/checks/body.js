'use strict';
// Request bodies (docs/engine-protocol.md): request.body when the body is valid UTF-8,
// request.body_base64 otherwise, neither when the tenant did not opt in. The script sees req.body
// (Lua: a byte string, nil without a body). scripts/<lang>/body.* answers LEN:BODY ("text"),
// LEN:FIRST:LAST in bytes ("bytes") or "none".

const expect = require('../lib/expect');
const { decideBody } = require('../lib/fixtures');

const check = (name, run) => ({ name, run });
const TEXT = 'héllo wörld ✓ {"a": [1, 2]}\n\tend'; // 2-, 3-byte UTF-8, JSON, control characters
// Bytes that are not UTF-8 (0xff, 0xfe, lone continuation bytes), NUL included; 70,000 of them.
const BYTES = Buffer.from(Array.from({ length: 70000 }, (_, i) => (255 - i * 7) & 0xff));

/** The body script's answer (a respond decision's body) for a request with these extra fields. */
async function seen(t, kind, fields) {
  const a = await t.decide('body', { headers: { 'X-Case': kind }, request: fields });
  expect.equal(a.decision, 'respond', `decision${a.error ? ` (${a.error})` : ''}`);
  return a.body;
}

/** A 400 {"error"} naming `field` for a decide request with these extra request fields. */
async function refused(t, fields, field) {
  expect.errorAnswer(await t.post('/v1/decide', decideBody('body', { request: fields })), 400, new RegExp(field));
}

module.exports = {
  group: 'body',
  about: 'request.body (text) and request.body_base64 (bytes) reach the script as req.body; none is nil',
  checks: [
    check('a text body: req.body has its UTF-8 bytes (length) and its content', async (t) => {
      const got = await seen(t, 'text', { body: TEXT });
      expect.equal(got, `${Buffer.byteLength(TEXT)}:${TEXT}`, 'LEN:BODY');
    }),
    check('an empty text body is an empty string, not nil', async (t) => {
      expect.equal(await seen(t, 'text', { body: '' }), '0:', 'LEN:BODY');
    }),
    check('a binary body (body_base64): byte length, first and last byte', async (t) => {
      const got = await seen(t, 'bytes', { body_base64: BYTES.toString('base64') });
      expect.equal(got, `${BYTES.length}:${BYTES[0]}:${BYTES[BYTES.length - 1]}`, 'LEN:FIRST:LAST');
      const small = Buffer.from([0x00, 0xc3, 0x28, 0x80]); // NUL first, an invalid UTF-8 pair
      expect.equal(await seen(t, 'bytes', { body_base64: small.toString('base64') }), '4:0:128', 'LEN:FIRST:LAST of 4 bytes');
    }),
    check('base64 without padding is accepted too', async (t) => {
      expect.equal(await seen(t, 'bytes', { body_base64: 'AP8' }), '2:0:255', 'LEN:FIRST:LAST of "AP8"');
    }),
    check('no body (neither field, or null): req.body is nil/undefined', async (t) => {
      expect.equal(await seen(t, 'text', {}), 'none', 'without body fields');
      expect.equal(await seen(t, 'text', { body: null, body_base64: null }), 'none', 'with null body fields');
    }),
    check('body_base64 that is not base64: 400 naming request.body_base64', async (t) => {
      await refused(t, { body_base64: 'not base64!' }, 'body_base64');
      await refused(t, { body_base64: 'QUJD\n' }, 'body_base64'); // no line breaks either
      await refused(t, { body_base64: 'QUJDRA=' }, 'body_base64'); // padding, when present, is right
    }),
  ],
};
