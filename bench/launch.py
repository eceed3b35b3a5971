"""Run one benchmark target under uvicorn: `python bench/launch.py {fake|bare} PORT [FIXTURES]`.

Both targets use identical uvicorn settings (one worker, default loop and HTTP
implementation, no access log, lifespan on as in `pushfake serve`), so the only difference is the app.
"""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

BARE_ANSWERS = {  # path -> constant answer, shaped like the fake's
    "/api": {"response": [{"success": True}]},  # Leanplum
    "/rest/login": {"access_token": "bench-token", "token_type": "Bearer", "expires_in": 3600},  # D·engage
    "/rest/push/sendInstant": {"code": 0, "message": "Success",
                               "data": {"trackingId": "00000000-0000-4000-8000-000000000000"}},
}


def bare_app() -> Starlette:
    """The floor: Starlette routing plus reading the body, and a constant answer per route."""

    def constant(answer: dict[str, object], auth: bool) -> Callable[[Request], Awaitable[JSONResponse]]:
        async def endpoint(request: Request) -> JSONResponse:
            if auth:  # D·engage: the fake reads the Authorization header
                request.headers.get("authorization")
            await request.body()  # read the body like the fake does, so the comparison is fair
            return JSONResponse(answer)

        return endpoint

    routes = []
    for path, answer in BARE_ANSWERS.items():
        dengage = path.startswith("/rest/")
        routes.append(Route(path, constant(answer, dengage), methods=["POST"] if dengage else ["GET", "POST"]))
    return Starlette(routes=routes)


# The login workload mints tens of thousands of D·engage tokens; with the default bound (10,000)
# they would push out the one token every sendInstant run sends, and sendInstant would measure 401s.
TOKENS_KEPT = 10_000_000


def fake_app(fixtures: str | None = None) -> Starlette:
    import pushfake

    return pushfake.create_app(pushfake.Fake(seed=1, fixtures=fixtures, retention={"tokens": TOKENS_KEPT}))


def main(argv: list[str]) -> None:
    kind, port = argv[1], int(argv[2])
    app = fake_app(*argv[3:4]) if kind == "fake" else bare_app()
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False, lifespan="on")


if __name__ == "__main__":
    main(sys.argv)
