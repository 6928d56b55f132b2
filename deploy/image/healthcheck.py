"""Container health check: exit 0 when the consumer's ``/healthz`` answers 200, else 1.

Standard library only (the slim image has no curl). The port is ``SSC_OBSERVABILITY__PORT``
(default 8080), the same setting the service binds.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request


def main() -> int:
    port = os.environ.get("SSC_OBSERVABILITY__PORT", "8080")
    url = f"http://127.0.0.1:{port}/healthz"
    try:
        with urllib.request.urlopen(url, timeout=3) as response:
            return 0 if response.status == 200 else 1
    except (urllib.error.URLError, OSError, ValueError):
        return 1


if __name__ == "__main__":
    sys.exit(main())
