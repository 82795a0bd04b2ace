"""What the HTTP adapters (the API and the console) share: the runtime and session dependencies, request ids
with access logs, body size caps, and Prometheus metrics."""
