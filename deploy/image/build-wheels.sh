#!/bin/sh
# Build stage of the image (and of tests/deploy/test_image_install.py, which runs it without Docker):
# the project's wheel plus a wheel of every runtime dependency, into one directory.
#
#   build-wheels.sh SOURCE_DIR WHEEL_DIR
#
# PYTHON selects the interpreter (default python3). Needs the package index (or a pip cache).
set -eu
src="$1"
out="$2"
py="${PYTHON:-python3}"
mkdir -p "$out"
"$py" -m pip wheel --quiet --disable-pip-version-check --wheel-dir "$out" "$src"
ls "$out"/single_send_consumer-*.whl >/dev/null
