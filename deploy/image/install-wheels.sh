#!/bin/sh
# Runtime stage of the image: a fresh virtual environment with the service installed from the built
# wheels only (--no-index: nothing else is fetched, so the image holds exactly what was built), with
# the uvloop extra: the service runs on uvloop in the image (SSC_ENGINE__EVENT_LOOP=asyncio turns it off).
#
#   install-wheels.sh WHEEL_DIR VENV_DIR
#
# PYTHON selects the interpreter (default python3). Afterwards VENV_DIR/bin/consumer is the command.
set -eu
wheels="$1"
venv="$2"
py="${PYTHON:-python3}"
"$py" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-cache-dir \
  --no-index --find-links "$wheels" "single-send-consumer[uvloop]"
"$venv/bin/consumer" --version
