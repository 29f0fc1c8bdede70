"""Socrata-compatible endpoints: /resource, /api/views (metadata, export), /api/catalog/v1."""
