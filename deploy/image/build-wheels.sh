#!/bin/sh
# Build stage of the image (and of tests/deploy/test_image.py, which runs it without Docker): a wheel
# of every runtime dependency at exactly the version and hash in requirements/runtime.txt, plus the
# project's own wheel, into one directory.
#
#   build-wheels.sh SOURCE_DIR WHEEL_DIR
#
# PYTHON selects the interpreter (default python3). Needs the package index (or a pip cache).
set -eu
src="$1"
out="$2"
py="${PYTHON:-python3}"
mkdir -p "$out"
"$py" -m pip wheel --quiet --disable-pip-version-check --require-hashes --wheel-dir "$out" \
  -r "$src/requirements/runtime.txt"
"$py" -m pip wheel --quiet --disable-pip-version-check --no-deps --wheel-dir "$out" "$src"
ls "$out"/single_send_consumer-*.whl >/dev/null
