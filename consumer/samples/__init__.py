"""Sample data shipped with the package, so the demo and the defaults work from any directory.

``routing.yaml`` routes every event type of the catalog (the demo's email ids for dev, qa and prod);
``sample-events.ndjson`` holds the demo's events, valid and invalid ones.
"""

from pathlib import Path

SAMPLES = Path(__file__).resolve().parent
DEMO_ROUTING = SAMPLES / "routing.yaml"
SAMPLE_EVENTS = SAMPLES / "sample-events.ndjson"
