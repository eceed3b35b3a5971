"""The control plane's handlers, one module per resource; `control.routes` maps each
operation of `openapi/control.yaml` to one of them.

Every handler is `async (fake, request) -> body` or `(status, body)`; it raises `AdminError`
for a refused request, having checked all it was given before it touches the fake.
"""
