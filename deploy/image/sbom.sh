#!/bin/sh
# The image's software bill of materials: a CycloneDX JSON document of every Python package installed
# in VENV_DIR (name, version, PURL, licence), written by cyclonedx-py at the version and hash locked in
# SBOM_LOCK. The generator runs from a throw-away environment, so it is not part of the image.
#
#   sbom.sh VENV_DIR SBOM_LOCK OUT_FILE
#
# PYTHON selects the interpreter (default python3). Needs the package index (or a pip cache).
set -eu
venv="$1"
lock="$2"
out="$3"
py="${PYTHON:-python3}"
tools="$(mktemp -d)"
trap 'rm -rf "$tools"' EXIT
"$py" -m venv "$tools/venv"
"$tools/venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-cache-dir \
  --require-hashes -r "$lock"
"$tools/venv/bin/cyclonedx-py" environment --output-format JSON --output-reproducible \
  --output-file "$out" "$venv/bin/python"
