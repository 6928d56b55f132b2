"""``consumer demo``: a developer tool outside the runtime package, loaded only by its command."""
