'use strict';
// Scripts that are hard on an engine's compiler, written for the language of the engine under
// test (known by the extension of its decide script): deep nesting, a file above 1 MiB, one
// scope with 65,000 names (QuickJS's parser is quadratic in them). Each still defines on_request,
// so an engine that compiles it loads it like any other script.

const fs = require('fs');

const LANGUAGES = {
  js: {
    onRequest: "function on_request(req) { return route_to('stable'); }\n",
    comment: (text) => `// ${text}\n`,
    assign: (name, expr) => `var ${name} = ${expr};\n`,
    manyNames: (names) => `var ${names.join(',')};\n`,
  },
  lua: {
    onRequest: 'function on_request(req) return route_to("stable") end\n',
    comment: (text) => `-- ${text}\n`,
    assign: (name, expr) => `${name} = ${expr}\n`,
    manyNames: (names) => names.map((n) => `${n} = 1`).join('\n') + '\n',
  },
  py: {
    onRequest: "def on_request(req):\n    return route_to('stable')\n",
    comment: (text) => `# ${text}\n`,
    assign: (name, expr) => `${name} = ${expr}\n`,
    manyNames: (names) => names.map((n) => `${n} = 1`).join('\n') + '\n',
  },
};

/** The extension of the scripts in `dir` (that of its decide script). */
function extensionIn(dir) {
  const f = fs.readdirSync(dir).find((name) => /^decide\.\w+$/.test(name));
  if (f === undefined) throw new Error(`no decide.* script in ${dir}`);
  return f.slice('decide.'.length);
}

/** {name: source} of the heavy scripts in the language `ext`, or null for a language not known here. */
function heavyScripts(ext) {
  const l = LANGUAGES[ext];
  if (l === undefined) return null;
  const line = 'x'.repeat(100);
  const names = Array.from({ length: 65000 }, (_, i) => `_${i.toString(36)}`);
  return {
    nested: l.assign('nested', `${'('.repeat(5000)}1${')'.repeat(5000)}`) + l.onRequest,
    huge: l.onRequest + l.comment(line).repeat(11000), // 1.1 MB
    'slow-compile': l.onRequest + l.manyNames(names),
  };
}

module.exports = { extensionIn, heavyScripts };
