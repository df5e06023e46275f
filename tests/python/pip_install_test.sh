#!/bin/sh
# `pip install plugin-sdk/python` works offline: into a fresh venv and into a target
# directory with Debian's own pip, from a scratch copy of the source (a build leaves files
# beside the sources), with no package index at all. The installed package is then imported
# from outside the source tree and checked against a fingerprint docs/wire-format.md gives.
#   pip_install_test.sh PYTHON3 SDK_DIR SCRATCH_DIR
set -eu
PYTHON=$1
SDK=$2
SCRATCH=$3

rm -rf "$SCRATCH"
mkdir -p "$SCRATCH"
cp -r "$SDK" "$SCRATCH/source"
rm -rf "$SCRATCH/source/build" "$SCRATCH"/source/*.egg-info
export PIP_NO_INDEX=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1
unset PIP_FIND_LINKS PYTHONPATH 2>/dev/null || true
cd "$SCRATCH"

check() {  # check PYTHON [PYTHONPATH]: imports the installed package, not the source tree
    PYTHONPATH=${2:-} "$1" -B -c '
import sys, airlock_plugin
from airlock_plugin import Protocol
assert "/source/" not in airlock_plugin.__file__ and "plugin-sdk" not in airlock_plugin.__file__, airlock_plugin.__file__
assert Protocol("empty").fingerprint() == 0xded5c2fb0e4abc92
print("installed and working:", airlock_plugin.__file__, airlock_plugin.__version__)
'
}

echo "== a fresh venv, pip install SOURCE"
"$PYTHON" -m venv "$SCRATCH/venv"
"$SCRATCH/venv/bin/pip" install --quiet --no-index "$SCRATCH/source"
check "$SCRATCH/venv/bin/python"

echo "== Debian's pip, pip install --target DIR SOURCE"
cp -r "$SDK" "$SCRATCH/source2"
rm -rf "$SCRATCH/source2/build" "$SCRATCH"/source2/*.egg-info
"$PYTHON" -m pip install --quiet --no-index --target "$SCRATCH/target" "$SCRATCH/source2" 2>&1 | grep -v "Running pip as the 'root' user" || true
[ -f "$SCRATCH/target/airlock_plugin/__init__.py" ] || { echo "pip install --target installed nothing" >&2; exit 1; }
check "$PYTHON" "$SCRATCH/target"
rm -rf "$SCRATCH"
