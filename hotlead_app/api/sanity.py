"""Refuse text PostgreSQL cannot store before any route sees it: a NUL character or a
lone surrogate (text that is not valid UTF-8) in the path, the query string or a JSON
body is a 400 in API.md's shape (``invalid_input``), never a database error (500).

Runs inside ``BodySizeLimit`` (the body is already known to be small) and reads the body
once, replaying it to the app.  A body that is not JSON is left to the route's own
validation; JSON nested deeper than the parser allows is refused here."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote_to_bytes

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hotlead_app.api.errors import error_body


class UnstorableText(ValueError):
    def __init__(self, where: str) -> None:
        super().__init__(where)
        self.where = where


def _check_text(text: str, where: str) -> None:
    if "\x00" in text:
        raise UnstorableText(where)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise UnstorableText(where) from None


def _check_bytes(raw: bytes, where: str) -> None:
    """Percent-encoded bytes (a path or a query string), decoded as UTF-8."""
    decoded = unquote_to_bytes(raw.replace(b"+", b" "))
    if b"\x00" in decoded:
        raise UnstorableText(where)
    try:
        decoded.decode("utf-8")
    except UnicodeDecodeError:
        raise UnstorableText(where) from None


def check_json_value(value: Any) -> None:
    """Every key and string inside a parsed JSON value (iteratively: no recursion)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            _check_text(item, "body")
        elif isinstance(item, dict):
            for key, inner in item.items():
                _check_text(key, "body")
                stack.append(inner)
        elif isinstance(item, list):
            stack.extend(item)


def _is_json(scope: Scope) -> bool:
    content_type = dict(scope.get("headers") or []).get(b"content-type")
    # FastAPI reads a body without a content type as JSON too.
    return content_type is None or b"json" in content_type.lower()


class RefuseUnstorableText:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            _check_bytes(scope.get("raw_path") or scope.get("path", "").encode("utf-8", "surrogatepass"), "path")
            _check_bytes(scope.get("query_string") or b"", "query")
        except UnstorableText as exc:
            await _refuse(send, exc.where, "A NUL character or text that is not UTF-8 cannot be stored.")
            return
        if scope.get("method") not in ("POST", "PUT", "PATCH", "DELETE") or not _is_json(scope):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if body.strip():
            try:
                check_json_value(json.loads(body))
            except UnstorableText as exc:
                await _refuse(send, exc.where, "A NUL character or text that is not UTF-8 cannot be stored.")
                return
            except RecursionError:
                await _refuse(send, "body", "The JSON body is nested too deeply.")
                return
            except ValueError:
                pass  # not JSON: the route's validation answers
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


async def _refuse(send: Send, where: str, message: str) -> None:
    body = json.dumps(error_body("invalid_input", message, {where: "contains a NUL or non-UTF-8 text"})).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 400,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})
