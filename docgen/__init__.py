"""Generators of the documentation site's reference pages (run ``python -m docgen``)."""
