"""Configuration: where things live (settings), the tenants file, and its shop section."""
