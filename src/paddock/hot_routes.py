"""The busiest endpoints answered before FastAPI's router, with the same guards.

`HotRoutes` takes requests by exact method and path (POST /api/v1/bookings) and calls the
declared route's endpoint directly: routing and FastAPI's handler cost a booking about 65 us
of the ~0.9 ms it takes. It runs every dependency the router would (the app's, the router's
and the route's own, e.g. the access guard), solved by a small runner that supports what a
guard needs (the Request and other such dependencies, cached per request), and refuses to
start with one it cannot run rather than skip it. Errors are answered by the app's own
exception handlers, inside the security headers and the 500 handler; FastAPI's route stays
declared for the schema and answers whatever this does not take."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request
from fastapi.dependencies.models import Dependant
from fastapi.dependencies.utils import get_dependant, get_parameterless_sub_dependant
from fastapi.responses import Response
from fastapi.routing import APIRoute, iter_route_contexts
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

Endpoint = Callable[[Request], Awaitable[Response]]


@dataclass(frozen=True)
class HotRoute:
    route: APIRoute
    dependencies: tuple[Step, ...]
    endpoint: Endpoint


class HotRoutes:
    def __init__(self, app: ASGIApp, routes: Iterable[tuple[str, str]]) -> None:
        self.app = app
        self.wanted = frozenset(routes)
        self._hot: dict[tuple[str, str], HotRoute] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        key = (scope["method"], scope["path"]) if scope["type"] == "http" else None
        if key not in self.wanted:
            await self.app(scope, receive, send)
            return
        hot = self.resolve(scope["app"])[key]
        scope["route"] = hot.route
        request = Request(scope, receive)
        try:
            await run_dependencies(request, hot.dependencies)
            response = await hot.endpoint(request)
        except Exception as exc:
            handler = _handler_for(request.app, exc)
            if handler is None:
                raise
            response = await handler(request, exc)
        await response(scope, receive, send)

    def resolve(self, app: FastAPI) -> dict[tuple[str, str], HotRoute]:
        """The declared routes, found once the app's routes are all in place."""
        if self._hot is None:
            found: dict[tuple[str, str], HotRoute] = {}
            for context in iter_route_contexts(app.router.routes):
                route = context.original_route
                if not isinstance(route, APIRoute):
                    continue
                path = str(context.path_format)
                for method in context.methods or ():
                    if (method, path) in self.wanted:
                        found[(method, path)] = _hot_route(route, list(context.dependencies))
            missing = self.wanted - set(found)
            if missing:
                raise RuntimeError(f"HotRoutes: no declared route for {sorted(missing)}")
            self._hot = found
        return self._hot


def _hot_route(route: APIRoute, dependencies: list[Any]) -> HotRoute:
    endpoint = route.endpoint
    if list(inspect.signature(endpoint).parameters) != ["request"] or not (
        inspect.iscoroutinefunction(endpoint)
    ):
        raise RuntimeError(f"HotRoutes: {route.path} must be `async def f(request: Request)`")
    solved = tuple(
        get_parameterless_sub_dependant(depends=d, path=route.path) for d in dependencies
    )
    for dependant in solved:
        _check(dependant, route.path)
    return HotRoute(route, tuple(Step.of(d) for d in solved), endpoint)


def _check(dependant: Dependant, path: str) -> None:
    """Only what the runner can solve; anything else would be silently skipped."""
    unsupported = [
        *dependant.path_params,
        *dependant.query_params,
        *dependant.header_params,
        *dependant.cookie_params,
        *dependant.body_params,
    ]
    call = dependant.call
    if unsupported or dependant.response_param_name or dependant.background_tasks_param_name:
        raise RuntimeError(
            f"HotRoutes: the dependency {call!r} of {path} takes parameters the hot path "
            "cannot give (only the Request and other dependencies)"
        )
    if inspect.isgeneratorfunction(call) or inspect.isasyncgenfunction(call):
        raise RuntimeError(f"HotRoutes: the dependency {call!r} of {path} must not yield")
    for sub in dependant.dependencies:
        _check(sub, path)


@dataclass(frozen=True)
class Step:
    """One dependency, compiled once: what to call, how, and with what."""

    call: Any
    is_async: bool
    use_cache: bool
    request_param: str | None
    subs: tuple[tuple[str, Step], ...]

    @classmethod
    def of(cls, dependant: Dependant) -> Step:
        return cls(
            dependant.call,
            _is_async(dependant.call),
            dependant.use_cache,
            dependant.request_param_name,
            tuple((str(sub.name), cls.of(sub)) for sub in dependant.dependencies),
        )


async def run_dependencies(request: Request, steps: Iterable[Step]) -> None:
    cache: dict[Any, Any] = {}
    overrides = getattr(request.app, "dependency_overrides", None) or None
    for step in steps:
        await _solve(request, step, cache, overrides)


async def _solve(
    request: Request, step: Step, cache: dict[Any, Any], overrides: dict[Any, Any] | None
) -> Any:
    call = step.call
    if overrides is not None and call in overrides:  # tests: compiled on the fly
        return await _solve(request, _overridden(overrides[call], step), cache, None)
    if step.use_cache and call in cache:
        return cache[call]
    kwargs: dict[str, Any] = {}
    if step.request_param:
        kwargs[step.request_param] = request
    for name, sub in step.subs:
        kwargs[name] = await _solve(request, sub, cache, overrides)
    value = await call(**kwargs) if step.is_async else await run_in_threadpool(call, **kwargs)
    cache[call] = value
    return value


def _overridden(call: Any, step: Step) -> Step:
    replaced = Step.of(get_dependant(path="", call=call))
    return Step(call, replaced.is_async, step.use_cache, replaced.request_param, replaced.subs)


def _is_async(call: Any) -> bool:
    return inspect.iscoroutinefunction(call) or inspect.iscoroutinefunction(
        getattr(call, "__call__", None)  # noqa: B004 - a callable instance's method
    )


def _handler_for(
    app: FastAPI, exc: Exception
) -> Callable[[Request, Exception], Awaitable[Response]] | None:
    for kind in type(exc).__mro__:
        handler = app.exception_handlers.get(kind)
        if handler is not None:
            return handler  # type: ignore[return-value]
    return None
