"""HTTP layer: blueprints turn requests into service calls and results into pages."""
