'use strict';
// What JSON.parse may cost inside a tenant's isolate, priced before it runs (sandbox/api.js,
// guardedParse), so that a script can answer a client's too-costly body (say, 413) before any
// time is spent: QuickJS's npm build parsed JSON in C without asking for the deadline (a 990 KB
// body of 330,000 empty arrays held the thread 150-200 ms and its tenant was penalised: attack
// round 8, N8-1); our build asks at every value, so a parse let through still stops there.
//
// The prices, from QuickJS (the engine's build) on this project's 2-core host, with a margin:
// 330,000 empty arrays or objects in 990 KB took 155-190 ms (a container: about 500 ns), 500,000
// numbers 32-62 ms (a value: about 100 ns), 100,000 keys 36 ms (a key: about 200 ns more), 1 MB of
// one string 4 ms (a character: 10 ns at most); 5,000 ordinary records in 510 KB took 11 ms.
//
// The walks of QuickJS's hash tables a text could aim its keys at (the atom table, an object's
// property table, the shape table: rounds 9 and 10, N9-1 and N10-1) are not priced: our QuickJS
// build keys those hashes with secrets of each isolate (quickjs/keystone.patch), so a text
// cannot know which keys share a bucket.

const NS_CONTAINER = 500;
const NS_VALUE = 100; // each comma starts one
const NS_KEY = 200;
const NS_CHAR = 10;
// A text the engine was not given: priced as if all of it were "[],".
const WORST_NS_PER_CHAR = 250;

/**
 * {ms, containers} for `text`: what parsing it may take at most, and its arrays and objects. One
 * pass, strings skipped to their closing quote (a colon or comma inside one is not counted).
 */
function priced(text) {
  let containers = 0;
  let commas = 0;
  let colons = 0;
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      let j = i + 1;
      for (; j < n; j++) {
        const d = text.charCodeAt(j);
        if (d === 0x22) break;
        if (d === 0x5c) j++;
      }
      i = j;
    } else if (c === 0x5b || c === 0x7b) containers++;
    else if (c === 0x2c) commas++;
    else if (c === 0x3a) colons++;
  }
  const ns = containers * NS_CONTAINER + (commas + 1) * NS_VALUE + colons * NS_KEY + n * NS_CHAR;
  return { ms: ns / 1e6, containers };
}

/**
 * Why parsing a text of `length` characters must not start with `leftMs` of the call's deadline
 * left, or null when it may: `counted` is priced(text) when the engine was given the text, else
 * null (the worst case).
 */
function refusal(length, counted, leftMs) {
  const ms = counted === null ? length * WORST_NS_PER_CHAR / 1e6 : counted.ms;
  if (ms <= leftMs) return null;
  const what = counted === null ? '' : ` (${counted.containers} arrays or objects)`;
  return `a text of ${length} characters${what} may take ${Math.ceil(ms)} ms to parse, `
    + `more than the ${Math.max(0, Math.floor(leftMs))} ms left of the call's deadline`;
}

/** The same for other work over a text: `length` characters at `nsEach`. */
function workRefusal(length, nsEach, leftMs) {
  const ms = length * nsEach / 1e6;
  if (ms <= leftMs) return null;
  return `a text of ${length} characters may take ${Math.ceil(ms)} ms, more than the ${Math.max(0, Math.floor(leftMs))} ms left of the call's deadline`;
}

module.exports = { priced, refusal, workRefusal };
