"""Event contracts: CloudEvents envelope, one model per event type, routing config model."""
