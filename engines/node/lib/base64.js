'use strict';
// Strict base64 (RFC 4648, basic alphabet) as java.util.Base64.getDecoder() decodes it, so that
// both engines accept and refuse the same request.body_base64, with the same messages: no
// whitespace or other characters, padding optional but correct when present, nothing after it.
// (Node's Buffer.from(s, 'base64') skips whatever it does not understand.)

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const VALUE = new Int8Array(256).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) VALUE[ALPHABET.charCodeAt(i)] = i;
VALUE[61] = -2; // '='

// Exactly what that decoder accepts: 4-character units, the last one of 2 or 3 characters with
// its padding optional (but complete when present).
const VALID = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}(?:==)?|[A-Za-z0-9+/]{3}=?)?$/;

/** The bytes of `text`, or throws an Error with java.util.Base64's message. */
function decode(text) {
  if (VALID.test(text)) return Buffer.from(text, 'base64'); // the fast way; else Java's, for its message
  return javaDecode(text);
}

/** java.util.Base64.Decoder.decode, step by step. */
function javaDecode(text) {
  // Java decodes the string's ISO-8859-1 bytes: a character above U+00FF becomes '?'.
  const src = Buffer.from(text.replace(/[^\u0000-\u00ff]/g, '?'), 'latin1');
  const sl = src.length;
  if (sl === 0) return Buffer.alloc(0);
  if (sl < 2) throw new Error('Input byte[] should at least have 2 bytes for base64 bytes');
  const dst = Buffer.alloc(Math.floor((sl * 3) / 4) + 3);
  let dp = 0;
  let sp = 0;
  let bits = 0;
  let shiftto = 18;
  while (sp < sl) {
    const b = VALUE[src[sp++]];
    if (b < 0) {
      if (b === -2) { // '=': ends the data
        if ((shiftto === 6 && (sp === sl || src[sp++] !== 61)) || shiftto === 18) {
          throw new Error('Input byte array has wrong 4-byte ending unit');
        }
        break;
      }
      const signed = src[sp - 1] > 127 ? src[sp - 1] - 256 : src[sp - 1]; // Java's byte
      throw new Error(`Illegal base64 character ${signed.toString(16)}`);
    }
    bits |= b << shiftto;
    shiftto -= 6;
    if (shiftto < 0) {
      dst[dp++] = (bits >> 16) & 0xff;
      dst[dp++] = (bits >> 8) & 0xff;
      dst[dp++] = bits & 0xff;
      shiftto = 18;
      bits = 0;
    }
  }
  if (shiftto === 6) {
    dst[dp++] = (bits >> 16) & 0xff;
  } else if (shiftto === 0) {
    dst[dp++] = (bits >> 16) & 0xff;
    dst[dp++] = (bits >> 8) & 0xff;
  } else if (shiftto === 12) {
    throw new Error('Last unit does not have enough valid bits');
  }
  if (sp < sl) throw new Error(`Input byte array has incorrect ending byte at ${sp}`);
  return dst.subarray(0, dp);
}

module.exports = { decode, javaDecode };
