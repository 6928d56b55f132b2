"""Event contracts: one pydantic model per CloudEvents type, the routing file model, JSON Schemas.

This package imports nothing from ``consumer``: producer teams depend on it alone to build, validate
and document the events they publish.

- :mod:`schemas.catalog` — ``CATALOG`` (type string → model), ``model_for()``
- :mod:`schemas.types` — shared field types (bounded, control-character-free, addresses validated)
- :mod:`schemas.users`, :mod:`schemas.orders`, :mod:`schemas.billing` — the event models
- :mod:`schemas.routing` — ``RoutingConfig`` / ``Route``: the routing file, checked against the catalog
- :mod:`schemas.export` — JSON Schema files (``schemas/jsonschema/``) and their drift check
- :mod:`schemas.samples` — the example payloads (``schemas/examples/``)
"""
