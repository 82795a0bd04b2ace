"""HTTP adapter: FastAPI routers, one per resource, over the same core the CLI uses."""
