"""``/admin/queue``: confirmed leads waiting for an admin, oldest first."""

from __future__ import annotations

import uuid

import reflex as rx

from hotlead_app import routes
from hotlead_app.components.layout import public_layout
from hotlead_app.domain.errors import DomainError
from hotlead_app.services import leads, query
from hotlead_app.state.session import SessionState

PAGE_SIZE = 25


class QueueState(SessionState):
    items: list[dict[str, str]] = []
    loading: bool = True
    message: str = ""
    next_cursor: list[str] = []
    reject_reason: str = ""

    def _admin(self):
        principal = self.principal()
        if principal is None or principal.role != "admin":
            return None
        return principal

    @rx.event
    def load(self):
        if self._admin() is None:
            return rx.redirect(routes.SIGN_IN)
        self.loading = True
        rows = query.list_leads(status="pending_approval", limit=PAGE_SIZE, oldest_first=True)
        self.items = [{k: str(v) if v is not None else "" for k, v in row.items()} for row in rows[:PAGE_SIZE]]
        self.loading = False

    @rx.event
    def set_reject_reason(self, value: str):
        self.reject_reason = value

    @rx.event
    def approve(self, lead_id: str):
        principal = self._admin()
        if principal is None:
            return rx.redirect(routes.SIGN_IN)
        try:
            leads.approve_lead(lead_id=uuid.UUID(lead_id), actor=principal.actor)
        except DomainError as exc:
            return rx.toast.error(exc.message)
        self.items = [i for i in self.items if i["id"] != lead_id]
        return rx.toast.success("Approved: it goes to distribution now.")

    @rx.event
    def reject(self, lead_id: str):
        principal = self._admin()
        if principal is None:
            return rx.redirect(routes.SIGN_IN)
        try:
            leads.reject_lead(lead_id=uuid.UUID(lead_id), actor=principal.actor,
                              reason=self.reject_reason or "Rejected by an admin")
        except DomainError as exc:
            return rx.toast.error(exc.message)
        self.items = [i for i in self.items if i["id"] != lead_id]
        self.reject_reason = ""
        return rx.toast.success("Rejected.")


def _row(item: dict) -> rx.Component:
    return rx.table.row(
        rx.table.cell(item["created_at"]),
        rx.table.cell(item["niche"]),
        rx.table.cell(item["email"]),
        rx.table.cell(
            rx.hstack(
                rx.button("Approve", size="1", on_click=QueueState.approve(item["id"]), class_name="approve"),
                rx.alert_dialog.root(
                    rx.alert_dialog.trigger(rx.button("Reject", size="1", color_scheme="red", variant="soft")),
                    rx.alert_dialog.content(
                        rx.alert_dialog.title("Reject this lead?"),
                        rx.alert_dialog.description("It will never be distributed. Say why:"),
                        rx.input(placeholder="Reason", on_change=QueueState.set_reject_reason),
                        rx.hstack(
                            rx.alert_dialog.cancel(rx.button("Cancel", variant="soft")),
                            rx.alert_dialog.action(rx.button("Reject", color_scheme="red",
                                                             on_click=QueueState.reject(item["id"]))),
                            justify="end", spacing="3", margin_top="1em",
                        ),
                    ),
                ),
            )
        ),
        id="lead-" + item["id"],
    )


@rx.page(route=routes.ADMIN_QUEUE, title="Approval queue | Find Me A Hot Lead", on_load=QueueState.load)
def admin_queue() -> rx.Component:
    return public_layout(
        rx.vstack(
            rx.hstack(
                rx.heading("Approval queue", size="6"),
                rx.spacer(),
                rx.button("Sign out", variant="ghost", on_click=QueueState.sign_out),
                width="100%",
            ),
            rx.cond(
                QueueState.loading,
                rx.spinner(),
                rx.cond(
                    QueueState.items.length() > 0,
                    rx.table.root(
                        rx.table.header(rx.table.row(
                            rx.table.column_header_cell("Received"), rx.table.column_header_cell("Niche"),
                            rx.table.column_header_cell("Email"), rx.table.column_header_cell(""))),
                        rx.table.body(rx.foreach(QueueState.items, _row)),
                        width="100%",
                    ),
                    rx.text("Nothing waiting: every confirmed lead has been reviewed.", color_scheme="gray",
                            id="queue-empty"),
                ),
            ),
            width="100%",
            spacing="4",
        )
    )
