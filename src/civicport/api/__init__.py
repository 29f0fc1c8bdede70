"""HTTP doors: the SODA API (soda/), renderers, shared dependencies and the error mapping."""
