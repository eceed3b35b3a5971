"""The two rule books a test edits at run time: fault rules (`Fake.faults`) and rate limits
(`Fake.limits`). Each is listed, added to, cleared, and read or removed one item at a time;
the handlers are the same five for both, bound to a `Book` that says how to reach it."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from starlette.requests import Request

from pushfake.control.requests import json_body
from pushfake.control.views import shown
from pushfake.core.admin import AdminError
from pushfake.fake import Fake


class _Items(Protocol):
    def add(self, raw: Any) -> Any: ...
    def get(self, item_id: str) -> Any: ...
    def remove(self, item_id: str) -> bool: ...
    def clear(self) -> None: ...


@dataclass(frozen=True, slots=True)
class Book:
    name: str  # the listing's key
    what: str  # one item, in an error message
    add_operation: str  # the operation whose request schema checks a new item
    of: Callable[[Fake], _Items]
    items: Callable[[Fake], list[Any]]


FAULTS = Book("faults", "fault rule", "addFault", lambda fake: fake.faults, lambda fake: fake.faults.rules())
LIMITS = Book("limits", "limit", "addLimit", lambda fake: fake.limits, lambda fake: fake.limits.limits())


async def list_items(book: Book, fake: Fake, request: Request) -> Any:
    return {book.name: [item.to_dict() for item in book.items(fake)]}


async def add_item(book: Book, fake: Fake, request: Request) -> Any:
    body = await json_body(request, book.add_operation)
    try:
        return 201, book.of(fake).add(body).to_dict()
    except ValueError as exc:
        raise AdminError(400, str(exc)) from None


async def clear_items(book: Book, fake: Fake, request: Request) -> Any:
    book.of(fake).clear()
    return {"ok": True}


async def get_item(book: Book, fake: Fake, request: Request) -> Any:
    return _found(book, fake, request).to_dict()


async def remove_item(book: Book, fake: Fake, request: Request) -> Any:
    _found(book, fake, request)
    book.of(fake).remove(request.path_params["id"])
    return {"ok": True}


def _found(book: Book, fake: Fake, request: Request) -> Any:
    """The item the path's `id` names; AdminError 404 if the book has none."""
    item_id = request.path_params["id"]
    found = book.of(fake).get(item_id)
    if found is None:
        raise AdminError(404, f"no {book.what} {shown(item_id)}")
    return found


list_faults = functools.partial(list_items, FAULTS)
add_fault = functools.partial(add_item, FAULTS)
clear_faults = functools.partial(clear_items, FAULTS)
get_fault = functools.partial(get_item, FAULTS)
remove_fault = functools.partial(remove_item, FAULTS)
list_limits = functools.partial(list_items, LIMITS)
add_limit = functools.partial(add_item, LIMITS)
clear_limits = functools.partial(clear_items, LIMITS)
get_limit = functools.partial(get_item, LIMITS)
remove_limit = functools.partial(remove_item, LIMITS)
