"""Email bodies, plain text and HTML, with the platform's look."""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from hotlead_app.domain import forms
from hotlead_app.domain.money import show_money
from hotlead_app.settings import get_settings

BRAND = "Find Me A Hot Lead"
ACCENT = "#ea580c"


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


def money(amount: object) -> str:
    """Money in an email as on the pages: ``"$1,530.00"``, in the platform's currency."""
    return show_money(amount, get_settings().currency)


def answer_lines(fields: Sequence[Mapping[str, Any]], payload: Mapping[str, Any]) -> list[str]:
    """A lead's answers, ``"Label: value"`` a line, in the form's order (as the pages)."""
    return [f"{label}: {value}" for label, value in forms.answers(fields, payload)]


def _html(title: str, paragraphs: list[str], button: tuple[str, str] | None = None, footer: str = "") -> str:
    body = "".join(f'<p style="margin:0 0 16px;line-height:1.5">{p}</p>' for p in paragraphs)
    if button:
        label, url = button
        body += (
            f'<p style="margin:24px 0"><a href="{html.escape(url, quote=True)}" '
            f'style="background:{ACCENT};color:#fff;padding:12px 20px;border-radius:6px;'
            f'text-decoration:none;font-weight:600">{html.escape(label)}</a></p>'
            f'<p style="font-size:12px;color:#666">Or paste this link: {html.escape(url)}</p>'
        )
    return (
        '<!doctype html><html><body style="margin:0;background:#f6f6f6;font-family:Arial,sans-serif">'
        '<table width="100%" cellpadding="0" cellspacing="0"><tr><td align="center" style="padding:24px">'
        '<table width="560" cellpadding="0" cellspacing="0" style="background:#fff;border-radius:8px">'
        f'<tr><td style="padding:20px 28px;border-bottom:3px solid {ACCENT};font-size:18px;font-weight:700;'
        f'color:{ACCENT}">{BRAND}</td></tr>'
        f'<tr><td style="padding:28px"><h1 style="font-size:20px;margin:0 0 16px">{html.escape(title)}</h1>'
        f'{body}<p style="font-size:12px;color:#888;margin-top:32px">{footer}</p></td></tr>'
        "</table></td></tr></table>{PIXEL}</body></html>"
    )


def lead_confirmation(*, niche_name: str, link: str, expires: str) -> Rendered:
    subject = f"Confirm your {niche_name} request"
    text = (
        f"Hello,\n\nWe received your {niche_name} request. Please confirm it is yours so that"
        f" local providers can contact you:\n\n{link}\n\nThis link works until {expires}."
        "\nIf you did not make this request, ignore this email and nothing will happen.\n"
    )
    body = _html(
        f"Confirm your {niche_name} request",
        [
            f"We received your <b>{html.escape(niche_name)}</b> request. Please confirm it is yours so "
            "that local providers can contact you.",
            f"This link works until {html.escape(expires)}.",
        ],
        ("Confirm my request", link),
        "If you did not make this request, ignore this email and nothing will happen.",
    )
    return Rendered(subject, text, body)


def provider_notice(*, name: str, title: str, lines: list[str], link: str, link_label: str) -> Rendered:
    text = f"Hello {name},\n\n" + "\n".join(lines) + f"\n\n{link_label}: {link}\n"
    body = _html(title, [f"Hello {html.escape(name)},", *[html.escape(x) for x in lines]], (link_label, link))
    return Rendered(title, text, body)


RETURN_TITLES = {
    "requested": "We received your return request",
    "approved": "Your return was approved",
    "denied": "Your return was denied",
}


def return_update(
    *,
    name: str,
    event: str,
    niche_name: str,
    lead_ref: str,
    reason_label: str,
    amount: str,
    deny_reason: str | None,
    link: str,
) -> Rendered:
    """A provider's notice about one of its return requests (requested, approved, denied)."""
    lines = [f"Lead {lead_ref} ({niche_name}), returned as: {reason_label}."]
    if event == "requested":
        lines.append("An admin will look at it soon; you will get an email with the decision.")
    elif event == "approved":
        lines.append(f"{amount} was credited to your balance.")
    elif event == "denied":
        lines.append(f"Nothing was refunded. Why: {deny_reason or '-'}")
    return provider_notice(
        name=name,
        title=RETURN_TITLES.get(event, "Your return request"),
        lines=lines,
        link=link,
        link_label="See your returns",
    )


def admin_alert(*, subject: str, details: dict) -> Rendered:
    lines = [f"{k}: {v}" for k, v in sorted(details.items())]
    return Rendered(f"[hotlead] {subject}", "\n".join(lines) + "\n", _html(subject, [html.escape(x) for x in lines]))


@dataclass(frozen=True)
class DigestLead:
    """One lead of an hourly digest: what it is, and the link to its page."""

    title: str  # "Roofing lead, $45.00"
    lines: list[str]  # contact and answers, one line each
    link: str


def lead_digest(*, name: str, leads: list[DigestLead], link: str) -> Rendered:
    """The hourly digest: every lead received since the last one, each with its page."""
    count = len(leads)
    subject = f"{count} new lead" + ("s" if count != 1 else "")
    text = f"Hello {name},\n\nYou received {subject}:\n\n" + "\n\n".join(
        f"{lead.title}\n" + "\n".join(lead.lines) + f"\nOpen it: {lead.link}" for lead in leads
    )
    text += f"\n\nAll your leads: {link}\n"
    items = "".join(
        f'<p style="margin:0 0 16px;line-height:1.5"><a href="{html.escape(lead.link, quote=True)}" '
        f'style="color:{ACCENT};font-weight:600">{html.escape(lead.title)}</a><br>'
        + "<br>".join(html.escape(line) for line in lead.lines)
        + "</p>"
        for lead in leads
    )
    body = _html(subject, [f"Hello {html.escape(name)},", f"You received {subject}:", items], ("See your leads", link))
    return Rendered(subject, text, body)
