"""The Starlette app: routes, error mapping (bad parameter → 400, empty database → 200 page), static plotly.

A page that is not in the cache (pages/cache.py: rendered pages, kept until the data changes) opens its
own short-lived connection (loopback, a few ms). Query parameters are checked strictly before anything
else: an unknown or repeated name is a 400 like a bad value. Nothing is loaded from outside the server:
plotly.js is served from the installed Python package.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from functools import lru_cache

import plotly
import psycopg
from markupsafe import Markup
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from kis_intel_assets.errors import ConfigurationError
from kis_intel_assets.pages import params, views
from kis_intel_assets.pages.cache import PageCache, Rendered
from kis_intel_assets.pages.params import BadParameter
from kis_intel_assets.pages.templates import environment
from kis_intel_assets.storage import DatabaseTimeouts, connect, redact_url

log = logging.getLogger(__name__)
PLOTLY_CACHE_SECONDS = 7 * 24 * 3600
HEALTH_TIMEOUTS = DatabaseTimeouts(connect_seconds=3, statement_seconds=3, grace_seconds=2)
TEMPLATES = environment()


@lru_cache(maxsize=1)
def plotly_bundle() -> bytes:
    from plotly.offline import get_plotlyjs

    return get_plotlyjs().encode("utf-8")


def plotly_js(request: Request) -> Response:
    """plotly.js from the installed package; the version is the ETag, so reloads cost a 304 at most."""
    etag = f'"plotly-{plotly.__version__}"'
    headers = {"Cache-Control": f"public, max-age={PLOTLY_CACHE_SECONDS}, immutable", "ETag": etag}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(plotly_bundle(), media_type="application/javascript", headers=headers)


def render(page: views.Page) -> Rendered:
    specs = {
        key: Markup(figure.to_json().replace("</", "<\\/"))  # "</" escaped: safe inside <script>
        for key, figure in page.figures.items()
    }
    html = TEMPLATES.get_template(page.template).render(
        title=page.title, figures=specs, plotly_version=plotly.__version__, **page.context
    )
    return Rendered(html.encode("utf-8"), "text/html; charset=utf-8")


def create_app(database_url: str, *, cache: bool = True) -> Starlette:
    """The pages over the database at `database_url` (read-only); `cache=False` renders every request."""
    pages = PageCache(database_url) if cache else None

    def page(build: Callable[..., views.Page], *names: str) -> Callable[[Request], Awaitable[Response]]:
        """`names`: the query parameters the page takes; any other is a 400."""

        async def endpoint(request: Request) -> Response:
            query = params.strict_query(request.query_params.multi_items(), names)
            path_values = list(request.path_params.values())

            def rendered() -> Rendered:
                with connect(database_url) as conn:
                    try:
                        return render(build(conn, *path_values, query))
                    except psycopg.errors.UndefinedTable:
                        return render(views.empty_page(views.NOT_MIGRATED))

            key = (request.url.path, tuple(sorted(query.items())))
            # A hit is answered on the event loop; rendering (and the version read) run on the threadpool.
            result = pages.cached(key) if pages else None
            if result is None:
                result = await run_in_threadpool(lambda: pages.get(key, rendered) if pages else rendered())
            assert result is not None  # rendered() always renders, so the cache always answers
            return Response(result.body, media_type=result.media_type)

        return endpoint

    def healthz(_: Request) -> Response:
        """up/down only: who the database is (user, host, port, name) is nobody's business here."""
        try:
            with connect(database_url, timeouts=HEALTH_TIMEOUTS) as conn:
                conn.execute("SELECT 1")
        except (ConfigurationError, psycopg.OperationalError) as exc:
            log.warning("healthz: %s", redact_url(str(exc)))
            return JSONResponse({"status": "down"}, status_code=503)
        return JSONResponse({"status": "up"})

    def bad_parameter(_: Request, exc: Exception) -> Response:
        return PlainTextResponse(str(exc), status_code=400)

    def unavailable(_: Request, exc: Exception) -> Response:
        log.warning("page unavailable: %s", redact_url(str(exc)))
        return PlainTextResponse("database unavailable; try again shortly", status_code=503)

    routes = [
        Route("/", page(views.landing)),
        Route("/sectors", page(views.sectors, "date", "investor")),
        Route("/overheat", page(views.overheat_view, "date", "market", "sort", "order")),
        Route("/overheat/stock/{symbol}", page(views.overheat_stock, "date")),
        Route("/rotation", page(views.rotation, "date", "view", "sector")),
        Route("/healthz", healthz),
        Route("/static/plotly.min.js", plotly_js),
    ]
    return Starlette(
        routes=routes,
        exception_handlers={
            BadParameter: bad_parameter,
            ConfigurationError: unavailable,
            psycopg.OperationalError: unavailable,
        },
    )
