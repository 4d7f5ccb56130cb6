#!/usr/bin/env bash
# Test only, never shipped: builds libnatpmp's own Python module (libnatpmpmodule.c) for Python 3, as the conformance
# reference of MiniUpnp.Net.Python.NATPMP. Upstream's module is Python 2 only (Py_InitModule3, and a Python 2 type
# header "PyObject_HEAD_INIT(NULL) 0, /*ob_size*/"), at 20230423 and at upstream HEAD. This script copies the pinned
# source and changes exactly those two places: the type header becomes PyVarObject_HEAD_INIT(NULL, 0), the module init
# becomes PyInit_libnatpmp with a PyModuleDef and PyModule_Create. Everything else (the methods, their argument formats,
# the protocol test, the retry loop, the error texts) is upstream's, compiled as setup.py compiles it
# (-DENABLE_STRNATPMPERR) with natpmp.c and getgateway.c of the same tree (the tree ./build.sh native builds from).
#
# Usage: natpmp-py3.sh SOURCE_DIR OUT_DIR     (writes OUT_DIR/lib/libnatpmp<ext suffix>; needs python3-dev and cc)
set -euo pipefail
src="$1" out="$2"
py=/usr/bin/python3
[ -f "$src/libnatpmpmodule.c" ] || { echo "natpmp-py3.sh: no libnatpmpmodule.c in $src" >&2; exit 1; }
rm -rf "$out"; mkdir -p "$out/src" "$out/lib"
cp "$src"/*.c "$src"/*.h "$out/src/"
"$py" - "$out/src/libnatpmpmodule.c" <<'PY'
import re, sys
path = sys.argv[1]
text = open(path).read()
header = re.compile(r"PyObject_HEAD_INIT\(NULL\)\s*\n\s*0,\s*/\*ob_size\*/")
text, n1 = header.subn("PyVarObject_HEAD_INIT(NULL, 0)", text)
init = re.compile(r"#ifndef PyMODINIT_FUNC.*\Z", re.S)
py3_init = """static struct PyModuleDef libnatpmpmodule = {
  PyModuleDef_HEAD_INIT, "libnatpmp", "libnatpmp module.", -1, libnatpmp_methods
};

PyMODINIT_FUNC
PyInit_libnatpmp(void)
{
  PyObject* m;

  if (PyType_Ready(&NATPMPType) < 0)
    return NULL;

  m = PyModule_Create(&libnatpmpmodule);

  Py_INCREF(&NATPMPType);
  PyModule_AddObject(m, "NATPMP", (PyObject *)&NATPMPType);
  return m;
}
"""
text, n2 = init.subn(lambda _: py3_init, text)
if (n1, n2) != (1, 1):
    sys.exit("natpmp-py3.sh: the module source is not the expected 20230423 one (type header %d, init %d)" % (n1, n2))
open(path, "w").write(text)
PY
diff -u "$src/libnatpmpmodule.c" "$out/src/libnatpmpmodule.c" > "$out/py3.diff" || true
include="$("$py" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')"
suffix="$("$py" -c 'import sysconfig; print(sysconfig.get_config_var("EXT_SUFFIX"))')"
(cd "$out/src" && cc -shared -fPIC -O2 -Wall -DENABLE_STRNATPMPERR -I"$include" \
   libnatpmpmodule.c natpmp.c getgateway.c -o "$out/lib/libnatpmp$suffix") >"$out/build.log" 2>&1 \
  || { cat "$out/build.log" >&2; exit 1; }
PYTHONPATH="$out/lib" "$py" -c 'import libnatpmp; n = libnatpmp.NATPMP(); assert n.discoverdelay == 0'
