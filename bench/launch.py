"""Run one benchmark target under uvicorn: `python bench/launch.py {fake|bare} PORT`.

Both targets use identical uvicorn settings (one worker, default loop and HTTP
implementation, no access log, no lifespan), so the only difference is the app.
"""

from __future__ import annotations

import sys

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

BARE_ANSWER = {"response": [{"success": True}]}


def bare_app() -> Starlette:
    """The floor: Starlette routing plus reading the body, and a constant answer."""

    async def api(request: Request) -> JSONResponse:
        await request.body()  # read the body like the fake does, so the comparison is fair
        return JSONResponse(BARE_ANSWER)

    return Starlette(routes=[Route("/api", api, methods=["GET", "POST"])])


def fake_app() -> Starlette:
    import pushfake

    return pushfake.create_app(pushfake.Fake(seed=1))


def main(argv: list[str]) -> None:
    kind, port = argv[1], int(argv[2])
    app = {"fake": fake_app, "bare": bare_app}[kind]()
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False, lifespan="off")


if __name__ == "__main__":
    main(sys.argv)
