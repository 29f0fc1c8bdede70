"""Page routes, one module per page family."""
