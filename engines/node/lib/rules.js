'use strict';
// The edit rules of sandbox/rules.js (EditRules.java) in the engine's own realm: protocol.js checks
// every decision with them again, with built-ins no script can have replaced.

const fs = require('fs');
const path = require('path');
const vm = require('vm');

const source = fs.readFileSync(path.join(__dirname, 'sandbox', 'rules.js'), 'utf8');
module.exports = vm.runInThisContext(source, { filename: 'keystone:rules' })();
