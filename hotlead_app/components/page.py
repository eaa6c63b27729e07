"""The three kinds of page, each declared once by its decorator::

    @admin_page(route=routes.ADMIN_AUDIT, title="Audit log", on_load=AuditState.load)
    def admin_audit() -> rx.Component:
        return rx.vstack(...)  # the page's content only

The decorator registers the page with the app and wraps its content in the frame:

- the route and the document title (``"<title> | Find Me A Hot Lead"``),
- the frame: the back-office top bar (sections, sign-out, the approval backlog badge on
  admin pages) and the page heading, or the public header,
- the guard: the first on-load event sends anyone who is not a signed-in admin
  (``AdminPageState.require``) or provider (``ProviderPageState.require``) to sign-in;
  the page's own on-load events follow (their ``@guarded`` handlers check again and
  take the principal),
- the favicon links of the page head (``assets/favicon.svg``, ``assets/favicon.ico``).

A content function may return one component or a tuple of them (the frame's children).
``heading`` overrides the heading shown on the page (a Var, e.g. the provider's name);
``actions`` is a function that builds the controls at the right of the heading."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import reflex as rx

from hotlead_app.components.backoffice import admin_layout, provider_layout
from hotlead_app.components.layout import public_layout
from hotlead_app.state.guards import AdminPageState, ProviderPageState
from hotlead_app.state.nav import queue_badge

SITE_NAME = "Find Me A Hot Lead"

ContentFn = Callable[[], "rx.Component | tuple[rx.Component, ...]"]


def page_title(title: str | None) -> str:
    """The document title: ``"<title> | Find Me A Hot Lead"``, or the site name alone."""
    return f"{title} | {SITE_NAME}" if title else SITE_NAME


def head_links() -> list[rx.Component]:
    """The favicon, as SVG for the browsers that take it and as ICO for the others."""
    return [
        rx.el.link(rel="icon", href="/favicon.svg", type="image/svg+xml"),
        rx.el.link(rel="icon", href="/favicon.ico", sizes="any"),
    ]


#: Every toast first dismisses the ones on screen, so a page shows only its latest
#: message (never a stale error beside the success that followed it). Patched once on the
#: toaster Reflex keeps in ``refs['__toast']`` (scripts run where ``refs`` is in scope).
LATEST_TOAST_ONLY_JS = """(() => { let tries = 0; const patch = () => {
  const t = refs['__toast'];
  if (!t) { if (tries++ < 50) setTimeout(patch, 100); return; }
  if (t.__latestOnly) return;
  for (const level of ['success', 'error', 'info', 'warning']) {
    const send = t[level];
    t[level] = (...args) => { t.dismiss(); return send(...args); };
  }
  t.__latestOnly = true;
}; patch(); })()"""


def _latest_toast_only() -> rx.Component:
    return rx.box(on_mount=rx.call_script(LATEST_TOAST_ONLY_JS), display="none", class_name="toast-policy")


def _events(on_load: Any) -> list[Any]:
    if on_load is None:
        return []
    return list(on_load) if isinstance(on_load, list | tuple) else [on_load]


def _children(content: Any) -> Sequence[rx.Component]:
    return tuple(content) if isinstance(content, list | tuple) else (content,)


def _register(
    content_fn: ContentFn,
    frame: Callable[[Sequence[rx.Component]], rx.Component],
    *,
    route: str,
    title: str | None,
    on_load: list[Any],
) -> None:
    def render() -> rx.Component:
        return rx.fragment(frame(_children(content_fn())), _latest_toast_only())

    render.__name__ = content_fn.__name__
    render.__qualname__ = content_fn.__qualname__
    render.__module__ = content_fn.__module__
    rx.page(route=route, title=page_title(title), on_load=on_load or None, meta=head_links())(render)


def admin_page(
    *,
    route: str,
    title: str,
    on_load: Any = None,
    heading: str | rx.Var | None = None,
    actions: Callable[[], rx.Component] | None = None,
) -> Callable[[ContentFn], ContentFn]:
    """An admin console page: admin frame with the queue badge; admins only."""

    def decorator(content_fn: ContentFn) -> ContentFn:
        def frame(children: Sequence[rx.Component]) -> rx.Component:
            return admin_layout(
                *children,
                title=heading if heading is not None else title,
                on_sign_out=AdminPageState.sign_out,
                queue_badge=queue_badge(),
                actions=actions() if actions else None,
            )

        _register(content_fn, frame, route=route, title=title, on_load=[AdminPageState.require, *_events(on_load)])
        return content_fn

    return decorator


def provider_page(
    *,
    route: str,
    title: str,
    on_load: Any = None,
    heading: str | rx.Var | None = None,
    actions: Callable[[], rx.Component] | None = None,
) -> Callable[[ContentFn], ContentFn]:
    """A provider dashboard page: provider frame; signed-in providers only."""

    def decorator(content_fn: ContentFn) -> ContentFn:
        def frame(children: Sequence[rx.Component]) -> rx.Component:
            return provider_layout(
                *children,
                title=heading if heading is not None else title,
                on_sign_out=ProviderPageState.sign_out,
                actions=actions() if actions else None,
            )

        _register(content_fn, frame, route=route, title=title, on_load=[ProviderPageState.require, *_events(on_load)])
        return content_fn

    return decorator


def public_page(*, route: str, title: str | None = None, on_load: Any = None) -> Callable[[ContentFn], ContentFn]:
    """A public page (no sign-in): the public frame; ``title=None`` is the site name alone."""

    def decorator(content_fn: ContentFn) -> ContentFn:
        def frame(children: Sequence[rx.Component]) -> rx.Component:
            return public_layout(*children)

        _register(content_fn, frame, route=route, title=title, on_load=_events(on_load))
        return content_fn

    return decorator
