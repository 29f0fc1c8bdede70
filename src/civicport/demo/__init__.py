"""Sample datasets for `civicport demo`: real city data bundled with the package."""
