"""The site of a running fake, under the control plane's prefix (so the admin token covers it):
the index at `/_pushfake/` (`index`), the OpenAPI documents as YAML and JSON (`specs`), and the
docs pages that render them on the server (`outline`, `docs`, Jinja2 templates), with `/` sending
a browser to the index (`negotiation`, `routes`)."""
