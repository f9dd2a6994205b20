'use strict';
// What a script's log(...) writes into the engine's log, as Helpers.shortText in Java: at most
// MAX_LOG characters (a longer text is cut and marked "..."), control characters escaped (\n,
// \r, \t, \xHH; C1 controls and U+2028/U+2029 as \uHHHH), so a script cannot forge a log line;
// `quote`: for the inside of a quoted field (log="..."), " and \ escaped too, so a script's text
// cannot end the field and add fields of its own (request_id=, tenant=).

const MAX_LOG = 2000;

function shortText(text, max = MAX_LOG, quote = false) {
  let out = '';
  let i = 0;
  for (; i < text.length && out.length < max; i++) {
    const c = text.charCodeAt(i);
    if (c === 10) out += '\\n';
    else if (c === 13) out += '\\r';
    else if (c === 9) out += '\\t';
    else if (quote && c === 34) out += '\\"';
    else if (quote && c === 92) out += '\\\\';
    else if (c < 0x20 || c === 0x7f) out += `\\x${c.toString(16).padStart(2, '0')}`;
    else if ((c >= 0x80 && c < 0xa0) || c === 0x2028 || c === 0x2029) out += `\\u${c.toString(16).padStart(4, '0')}`;
    else out += text[i];
  }
  return i < text.length ? `${out}...` : out;
}

module.exports = { shortText, MAX_LOG };
