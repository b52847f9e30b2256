"""ECR semantics, one module per domain; each handler registers itself in :mod:`.registry`."""
