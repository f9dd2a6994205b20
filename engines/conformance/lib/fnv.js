'use strict';
// The suite's own FNV-1a, to know what hash(s) must answer without asking an engine: 32-bit
// FNV-1a over the UTF-8 bytes (Node's encoder), masked to 31 bits (docs/scripting.md).

const OFFSET_BASIS = 2166136261n;
const PRIME = 16777619n;
const MASK32 = 0xffffffffn;

function fnv1a31(text) {
  let h = OFFSET_BASIS;
  for (const byte of Buffer.from(text, 'utf8')) {
    h ^= BigInt(byte);
    h = (h * PRIME) & MASK32; // BigInt: exact, unlike a float multiply
  }
  return Number(h & 0x7fffffffn);
}

module.exports = { fnv1a31 };
