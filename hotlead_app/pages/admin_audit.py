"""``/admin/audit``: the audit log newest first with admin memos; filter by entity
type, entity id and who acted (a role, a user id or a login's email).
``?entity_type=&entity_id=&by=`` opens it filtered."""

from __future__ import annotations

import json

import reflex as rx

from hotlead_app import routes
from hotlead_app.components import format as fmt
from hotlead_app.components.backoffice import empty_state
from hotlead_app.components.page import admin_page
from hotlead_app.components.widgets import data_table, filter_form, filter_input, paged_list
from hotlead_app.domain.errors import InvalidInput
from hotlead_app.services.reads import audit_trail
from hotlead_app.state.fields import ObjectField, object_field
from hotlead_app.state.guards import AdminPageState
from hotlead_app.state.paging import FilteredPages

PAGE_SIZE = 50
ENTITY_TYPES = [
    "lead",
    "lead_assignment",
    "niche",
    "competition_level",
    "provider",
    "subscription",
    "user",
    "api_key",
    "deposit",
    "payment",
]


def _entity_href(entity_type: str, entity_id: str) -> str:
    if entity_type == "provider":
        return routes.admin_provider(entity_id)
    if entity_type == "lead":
        return routes.admin_lead(entity_id)
    return f"{routes.ADMIN_AUDIT}?entity_type={entity_type}&entity_id={entity_id}"


def _changes(before: dict | None, after: dict | None) -> str:
    """The keys that changed, as ``key: old → new`` lines (a whole new row is shown as is)."""
    if before is None:
        return json.dumps(after, sort_keys=True, default=str) if after else ""
    after = after or {}
    lines = [
        f"{key}: {json.dumps(before.get(key), default=str)} → {json.dumps(after.get(key), default=str)}"
        for key in sorted(set(before) | set(after))
        if before.get(key) != after.get(key)
    ]
    return "\n".join(lines)


class AuditState(FilteredPages, AdminPageState):
    items: rx.Field[list[dict[str, str]]] = rx.field(default_factory=list)
    loading: rx.Field[bool] = rx.field(True)
    entity_type: rx.Field[str] = rx.field("")
    entity_id: rx.Field[str] = rx.field("")
    by: rx.Field[str] = rx.field("")
    errors: ObjectField[dict[str, str]] = object_field(dict)

    def _show_page(self, principal, start: int | None) -> None:
        rows = audit_trail.audit_trail(
            principal.actor,
            entity_type=self.entity_type or None,
            entity_id=self.entity_id or None,
            by=self.by or None,
            limit=PAGE_SIZE,
            before_seq=start or None,
        )
        shown = self._take_page(rows, PAGE_SIZE, lambda a: a["seq"])
        self.items = [
            {
                "id": a["id"],
                "when": fmt.when(a["created_at"], seconds=True),
                "entity_type": a["entity_type"],
                "entity_id": a["entity_id"],
                "short_id": a["entity_id"][:8],
                "href": _entity_href(a["entity_type"], a["entity_id"]),
                "action": a["action"],
                "actor": a["actor_role"] + (f" · {a['actor_email']}" if a["actor_email"] else ""),
                "memo": a["admin_only_memo"] or "",
                "changes": _changes(a["before"], a["after"]),
            }
            for a in shown
        ]

    def _filter_names(self) -> tuple[str, ...]:
        return ("entity_type", "entity_id", "by")

    def _apply(self, principal, values: dict[str, str]) -> None:
        self.entity_type = values["entity_type"].strip()
        self.entity_id = values["entity_id"].strip()
        self.by = values["by"].strip()
        try:
            self._first_page(principal)
        except InvalidInput as exc:
            self.errors = {k: str(v) for k, v in exc.details.items()}
            self.items = []
            self._reset_pages()
            return
        self.errors = {}


S = AuditState


def _filter_input(name: str, label: str, value, hint: str, **props) -> rx.Component:
    return filter_input(name, label, value, prefix="audit", errors=S.errors, hint=hint, **props)


def _filters() -> rx.Component:
    return filter_form(
        _filter_input("entity_type", "Entity type", S.entity_type, "provider", list="audit-entity-types"),
        rx.el.datalist(*[rx.el.option(value=t) for t in ENTITY_TYPES], id="audit-entity-types"),
        _filter_input("entity_id", "Entity id", S.entity_id, "3f2b…"),
        _filter_input("by", "By (role, user id or email)", S.by, "admin"),
        on_submit=S.filter,
        button_id="audit-filter",
    )


def _row(item: dict) -> rx.Component:
    return rx.table.row(
        rx.table.cell(item["when"], white_space="nowrap"),
        rx.table.cell(
            rx.text(item["entity_type"], size="1", color_scheme="gray"),
            rx.link(item["short_id"], href=item["href"], title=item["entity_id"]),
        ),
        rx.table.cell(item["action"]),
        rx.table.cell(item["actor"]),
        rx.table.cell(item["memo"], class_name="audit-memo"),
        rx.table.cell(
            rx.cond(
                item["changes"] != "",
                rx.el.details(
                    rx.el.summary("changes"),
                    rx.el.pre(
                        item["changes"],
                        style={
                            "white_space": "pre-wrap",
                            "font_size": "0.75em",
                            "max_width": "28em",
                            "overflow_wrap": "anywhere",
                        },
                    ),
                ),
            )
        ),
        id="audit-" + item["id"],
    )


@admin_page(route=routes.ADMIN_AUDIT, title="Audit log", on_load=AuditState.load)
def admin_audit() -> rx.Component:
    return rx.vstack(
        _filters(),
        paged_list(
            S,
            S.items,
            data_table(("When", "Entity", "Action", "By", "Memo", ""), S.items, _row, id="audit-table"),
            empty_state("No audit row matches these filters.", id="audit-empty"),
        ),
        spacing="4",
        width="100%",
    )
