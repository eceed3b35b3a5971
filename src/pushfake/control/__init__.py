"""The control plane: pushfake's own HTTP API under `/_pushfake/` (openapi/control.yaml)."""
