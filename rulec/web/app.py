"""The playground's web application (Starlette): the page, its files, and its JSON API.

=====================================  ==========================================
``GET /``                              the page
``GET /static/...``                    its script and style (package data)
``GET /api/setup``                     the files, the order events and their fields
``POST /api/check``                    ``{"path", "text"}``: the diagnostics
``POST /api/decide``                   ``{"path", "text", "event", "order"}``: the
                                       basket and the explanation of every rule
``GET /api/orders``                    with ``--db``: the recent stored orders
``GET /api/orders/{id}?event=E``       with ``--db``: one, as an order, and its
                                       stored basket
=====================================  ==========================================

Errors are JSON ``{"error": message}``: 400 for a body that is not the JSON
asked for, 413 for rules over the checker's size limit, 415 for a body that
is not JSON at all, 404 for what is not there, 422 when the rules have errors
or the facts are refused (the door's message). Never a traceback. Requests
must name the host the page is served on (``127.0.0.1``, ``localhost``), so
another web site cannot reach the page through a name of its own (DNS
rebinding); a request of another site's page cannot send JSON without the
browser asking first.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from decimal import Decimal
from importlib import resources
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from rulec.dsl.diagnostics import RulesError
from rulec.dsl.parser import MAX_FILE_BYTES
from rulec.web.playground import Playground, Refused

__all__ = ["LOCAL_HOSTS", "MAX_BODY", "create_app"]

log = logging.getLogger("rulec.web")

#: Host names the page answers to unless told others.
LOCAL_HOSTS = ("127.0.0.1", "localhost", "[::1]", "::1")
#: A request body's limit: the checker's limit on a rule file, and room for an order.
MAX_BODY = MAX_FILE_BYTES + 1024 * 1024

Handler = Callable[[Request], Awaitable[Response]]


def create_app(playground: Playground, hosts: Sequence[str] = LOCAL_HOSTS) -> Starlette:
    """The playground's application for ``playground``, answering to ``hosts``."""

    async def page(_: Request) -> Response:
        html = resources.files("rulec.web").joinpath("static/index.html").read_text("utf-8")
        return HTMLResponse(html, headers=_NO_STORE)

    async def setup(_: Request) -> Response:
        return _json(await run_in_threadpool(playground.setup))

    async def check(request: Request) -> Response:
        body = await _body(request)
        path, text = _string(body, "path"), _string(body, "text")
        return _json(await run_in_threadpool(playground.check, path, text))

    async def decide(request: Request) -> Response:
        body = await _body(request)
        path, text = _string(body, "path"), _string(body, "text")
        event = _string(body, "event")
        order = body.get("order")
        if not isinstance(order, dict):
            raise _bad("'order' must be a JSON object of facts")
        return _json(await run_in_threadpool(playground.decide, path, text, event, order))

    async def orders(_: Request) -> Response:
        return _json({"orders": await run_in_threadpool(playground.recent_orders)})

    async def order(request: Request) -> Response:
        event = request.query_params.get("event", "order_created")
        found = await run_in_threadpool(
            playground.stored_order, request.path_params["order_id"], event
        )
        return _json(found)

    routes = [
        Route("/", page),
        Route("/api/setup", _guarded(setup)),
        Route("/api/check", _guarded(check), methods=["POST"]),
        Route("/api/decide", _guarded(decide), methods=["POST"]),
        Route("/api/orders", _guarded(orders)),
        Route("/api/orders/{order_id}", _guarded(order)),
        Mount("/static", StaticFiles(packages=[("rulec.web", "static")]), name="static"),
    ]
    return Starlette(
        routes=routes,
        middleware=[Middleware(TrustedHostMiddleware, allowed_hosts=list(hosts))],
        exception_handlers={HTTPException: _http_error},
    )


_NO_STORE = {"Cache-Control": "no-store"}


def _guarded(handler: Handler) -> Handler:
    """``handler``, its refusals as JSON errors, and a bug as a 500 without a traceback."""

    async def run(request: Request) -> Response:
        try:
            return await handler(request)
        except Refused as e:
            return _json({"error": str(e), **e.extra}, e.status)
        except RulesError as e:  # facts the door refused, typed wrong, an unknown event
            return _json({"error": str(e), "key": getattr(e, "key", None)}, 422)
        except HTTPException:
            raise
        except Exception as e:
            log.exception("rulec playground: %s %s", request.method, request.url.path)
            return _json(
                {"error": f"internal error in rulec ({type(e).__name__}): {e}; please report it"},
                500,
            )

    return run


async def _http_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return _json({"error": exc.detail}, exc.status_code)


def _bad(message: str, status: int = 400) -> Refused:
    return Refused(message, status)


async def _body(request: Request) -> dict[str, Any]:
    """The request's JSON object, numbers read exactly; Refused when it is not one."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/json":
        raise _bad(f"send JSON (Content-Type: application/json), not {kind or 'nothing'}", 415)
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY:
        raise _too_large(int(declared))
    data = bytearray()
    async for chunk in request.stream():
        data += chunk
        if len(data) > MAX_BODY:
            raise _too_large(len(data))
    try:
        body = json.loads(bytes(data).decode("utf-8"), parse_float=Decimal)
    except UnicodeDecodeError:
        raise _bad("the request body is not UTF-8") from None
    except json.JSONDecodeError as e:
        raise _bad(
            f"the request body is not valid JSON: {e.msg} at line {e.lineno} column {e.colno}"
        ) from None
    except RecursionError:
        raise _bad("the request body is not valid JSON: nested too deeply") from None
    if not isinstance(body, dict):
        raise _bad("the request body must be a JSON object")
    return body


def _too_large(size: int) -> Refused:
    """A body over the limit: the checker's R110, which no rule text this size escapes."""
    return _bad(
        f"R110 request is {size:,} bytes: rule text is over the checker's limit of "
        f"{MAX_FILE_BYTES:,} bytes; split the rules into several files",
        413,
    )


def _string(body: dict[str, Any], key: str) -> str:
    value = body.get(key)
    if not isinstance(value, str):
        got = "nothing" if value is None else type(value).__name__
        raise _bad(f"'{key}' must be a string, got {got}")
    return value


def _json(data: Any, status: int = 200) -> Response:
    return JSONResponse(data, status, headers=_NO_STORE)
