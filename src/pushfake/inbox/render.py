"""Jinja2 templates of the inbox (package data under `templates/`), autoescaped: every text in
a notification, an owner id or a request came from a caller and is shown as text. The site's
pages (`pushfake.site`) use the same settings for their own package's templates."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jinja2 import Environment


@functools.cache
def environment(package: str = "pushfake.inbox") -> Environment:
    """The environment of `package`'s `templates/` folder."""
    from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape  # only once a page is asked for

    return Environment(
        loader=PackageLoader(package, "templates"),
        autoescape=select_autoescape(["html"], default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )


def render(template: str, **context: Any) -> str:
    return environment().get_template(template).render(**context)
