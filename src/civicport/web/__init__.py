"""The portal's web pages: server-rendered HTML that reads through the same catalog, SoQL
compiler and access policy as the API; JavaScript only enhances (grid, charts, map)."""
