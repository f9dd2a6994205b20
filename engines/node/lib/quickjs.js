'use strict';
// QuickJS compiled to WebAssembly: the engine that runs tenants' scripts. Our own build
// (quickjs/dist, made by quickjs/build.sh from quickjs-emscripten 0.32.0's sources with
// quickjs/keystone.patch: hashes keyed by a secret, C loops that ask for the deadline, linear
// canonical ordering), driven by the npm package's glue (quickjs-emscripten-core, its ffi). The .wasm is compiled once; every tenant then gets a module
// instance of its own, with its own WebAssembly memory, so that tenants share no heap, a tenant
// whose instance is left broken (a trap, a stack overflow in V8, a call stopped by the watchdog
// in the middle of C code) is thrown away whole, and the memory of a dropped tenant goes back.

const fs = require('fs');
const path = require('path');
const { newVariant, newQuickJSWASMModuleFromVariant } = require('quickjs-emscripten');
const { mappedBy } = require('./resident');

const DIST = path.join(__dirname, '..', 'quickjs', 'dist');
const WASM = new WebAssembly.Module(fs.readFileSync(path.join(DIST, 'emscripten-module.wasm')));
/** The build as a quickjs-emscripten variant: its module factory, the npm build's FFI (same C glue). */
const KEYSTONE_SYNC = {
  type: 'sync',
  importFFI: () => Promise.resolve(require('@jitl/quickjs-wasmfile-release-sync/ffi').QuickJSFFI),
  importModuleLoader: () => Promise.resolve(require(path.join(DIST, 'emscripten-module.cjs'))),
};
const PAGE = 64 * 1024;
const INITIAL_PAGES = 256; // what the build asks for: 16 MiB, of which 5 MiB are its C stack

/**
 * A new QuickJS module (one WebAssembly instance) whose memory can never grow beyond
 * `memoryBytes` (at least the 16 MiB it starts with). This is THE memory limit: QuickJS's own
 * (JS_SetMemoryLimit) counts allocations with malloc_usable_size, which this build lacks, so it
 * only refuses single allocations above the limit, never many small ones. When the memory is
 * full, malloc fails and QuickJS throws "out of memory". Returns {quickjs, memory, maxBytes, base}
 * (`base`: the address of its memory's mapping, or null).
 */
async function newModule(memoryBytes) {
  const maximum = Math.max(INITIAL_PAGES, Math.floor(memoryBytes / PAGE));
  // Where it lives (its mapping), so that what it holds resident can be read (resident.js).
  const { made: memory, base } = mappedBy(() => new WebAssembly.Memory({ initial: INITIAL_PAGES, maximum }), INITIAL_PAGES * PAGE);
  const quickjs = await newQuickJSWASMModuleFromVariant(newVariant(KEYSTONE_SYNC, { wasmModule: WASM, wasmMemory: memory }));
  return { quickjs, memory, maxBytes: maximum * PAGE, base };
}

module.exports = { newModule, INITIAL_BYTES: INITIAL_PAGES * PAGE };
