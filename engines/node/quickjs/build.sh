#!/usr/bin/env bash
# Builds the QuickJS WebAssembly module the Node engine runs tenants' scripts in (dist/), from
# quickjs-emscripten 0.32.0's sources with Keystone's patch (keystone.patch; see README.md).
#
#   engines/node/quickjs/build.sh QUICKJS_EMSCRIPTEN_CHECKOUT
#
# The checkout: https://github.com/justjake/quickjs-emscripten at tag v0.32.0 (its vendor/quickjs
# is QuickJS 2025-09-13, its c/interface.c the glue whose functions the npm package's ffi.js
# calls). Needs Debian's emscripten (3.1.6: apt-get install emscripten) and the engine's
# node_modules (npm ci), whose ffi.js names the functions to export.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=${1:?usage: build.sh QUICKJS_EMSCRIPTEN_CHECKOUT (tag v0.32.0)}
[ "$(cat "$src/vendor/quickjs/VERSION")" = 2025-09-13 ] || { echo "expected QuickJS 2025-09-13 in $src/vendor/quickjs" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/vendor" "$work/obj"
cp -r "$src/vendor/quickjs" "$work/vendor/quickjs"
cp -r "$src/c" "$src/templates" "$work/"
(cd "$work" && patch -p1 --quiet < "$here/keystone.patch")

# What quickjs-emscripten-core calls: every function its ffi.js wraps, and malloc/free.
ffi=$here/../node_modules/@jitl/quickjs-wasmfile-release-sync/dist/ffi.js
# And keystone_set_deadline (keystone.patch), which lib/isolate.js calls.
grep -o 'cwrap("[A-Za-z_0-9]*"' "$ffi" | sed 's/cwrap("\(.*\)"/"_\1"/' | sort -u | paste -sd, | sed 's/^/[/; s/$/,"_malloc","_free","_keystone_set_deadline","_keystone_oom_count","_keystone_refusal_count"]/' > "$work/symbols.json"
echo '["cwrap", "stringToUTF8", "lengthBytesUTF8", "UTF8ToString", "HEAPU8", "HEAP8"]' > "$work/runtime.json"

export NODE_PATH=/usr/share/nodejs # Debian's emscripten finds its acorn there
# quickjs-emscripten's release-sync flags, as far as emscripten 3.1.6 has them (and no handler for
# unhandled rejections: 3.1.6 adds one to the process per module instance, which kept every
# dropped isolate's memory alive). -O1: with this older compiler -Oz and -Os ran scripts about
# 1.5 times slower than the npm build, -O2 as fast but with frames so large that V8's own stack
# ran out before QuickJS's 128 KiB limit stopped a recursion (about 700 levels; the isolate was
# lost instead of a catchable stack overflow); -O1 is as fast and allows 1,167 levels in 128 KiB,
# with V8's stack lasting past 2,300.
CF="-O1 -flto -s MODULARIZE=1 -s IMPORTED_MEMORY=1 -s EXPORT_NAME=QuickJSRaw -s INVOKE_RUN=0
  -s ALLOW_MEMORY_GROWTH=1 -s ALLOW_TABLE_GROWTH=1 -s TOTAL_STACK=5MB -s SUPPORT_ERRNO=0 -s FILESYSTEM=0
  -s ENVIRONMENT=node -s NODEJS_CATCH_EXIT=0 -s NODEJS_CATCH_REJECTION=0"
Q=$work/vendor/quickjs
QD="-D_GNU_SOURCE -DCONFIG_VERSION=\"$(cat "$Q/VERSION")\" -DCONFIG_STACK_CHECK"
# Paths in assert messages name the sources, not this build's temporary directory: the same
# sources give the same bytes.
CF="$CF -ffile-prefix-map=$work=/quickjs"
objs=()
for f in quickjs dtoa libregexp libunicode cutils quickjs-libc; do
  emcc $CF $QD -c -o "$work/obj/$f.o" "$Q/$f.c"
  objs+=("$work/obj/$f.o")
done
emcc $CF -Wcast-function-type -c -o "$work/obj/interface.o" "$work/c/interface.c"
mkdir -p "$here/dist"
emcc $CF --no-entry -s EXPORTED_RUNTIME_METHODS=@"$work/runtime.json" -s EXPORTED_FUNCTIONS=@"$work/symbols.json" \
  --pre-js "$work/templates/pre-extension.js" --pre-js "$work/templates/pre-wasmMemory.js" \
  -o "$here/dist/emscripten-module.cjs" "$work/obj/interface.o" "${objs[@]}"
sha256sum "$here/dist/emscripten-module.wasm" "$here/dist/emscripten-module.cjs"
