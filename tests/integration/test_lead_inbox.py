"""The provider's lead inbox (issue 16, items 7 and 8): private notes through the API,
instant emails or an hourly digest (each assignment announced exactly once), the
low-balance alert (once per crossing), the leads CSV (one column per form field) and
"why not me" for a lead nobody bought."""

from __future__ import annotations

import csv
import io
import uuid
from decimal import Decimal

import httpx
import pytest
from sqlmodel import col, select

from hotlead_app.components import format as fmt
from hotlead_app.db import unit_of_work
from hotlead_app.domain import actors
from hotlead_app.domain.errors import InvalidInput, NotFound
from hotlead_app.models import AuditLog, EmailMessage, LeadNotice, NotificationSettings, UserRole
from hotlead_app.services import accounts, catalog, distribution, inbox, ledger, notifications
from hotlead_app.services.csv_export import money_column
from hotlead_app.services.reads import lead_inbox, missed_leads
from tests.factories import (
    ADMIN,
    approved_lead,
    assignments_of,
    make_market,
    make_provider,
    subscribe,
    unique_email,
)

PASSWORD = "correct horse battery"


def _headers(api: str, provider_id) -> dict[str, str]:
    email = unique_email("login")
    with unit_of_work() as uow:
        accounts.create_user(uow, email=email, password=PASSWORD, role=UserRole.PROVIDER, provider_id=provider_id)
    token = httpx.post(f"{api}/api/v1/auth/login", json={"email": email, "password": PASSWORD}).json()["token"]
    return {"Authorization": f"Bearer {token}"}


def _emails(kind: str, to: str) -> list[EmailMessage]:
    with unit_of_work() as uow:
        return list(
            uow.session.exec(
                select(EmailMessage)
                .where(EmailMessage.kind == kind, EmailMessage.to_address == to)
                .order_by(col(EmailMessage.created_at))
            ).all()
        )


def _provider_email(provider_id: uuid.UUID) -> str:
    return catalog.get_provider(actors.admin(), provider_id=provider_id).email


# --------------------------------------------------------------------------- notes


def test_a_note_round_trips_through_the_api_and_stays_private(engine_db, api_server):
    market = make_market(levels=[("Duo", "10.00", 2)], providers=2, balance="100.00")
    lead_id = approved_lead(market.slug)
    assert distribution.distribute_lead(lead_id=lead_id).outcome == "distributed"
    mine, theirs = assignments_of(lead_id)
    me = _headers(api_server, mine.provider_id)
    base = f"{api_server}/api/v1/provider/assignments"

    empty = httpx.get(f"{base}/{mine.id}/note", headers=me)
    assert empty.status_code == 200 and empty.json()["body"] == "" and empty.json()["updated_at"] is None

    saved = httpx.put(f"{base}/{mine.id}/note", json={"body": "  Called Tuesday; call back after 5 pm  "}, headers=me)
    assert saved.status_code == 200, saved.text
    assert saved.json()["body"] == "Called Tuesday; call back after 5 pm"
    got = httpx.get(f"{base}/{mine.id}/note", headers=me).json()
    assert got["body"] == "Called Tuesday; call back after 5 pm" and got["updated_at"] is not None

    # The list and the detail carry it.
    items = httpx.get(f"{api_server}/api/v1/provider/leads", headers=me).json()["items"]
    assert next(i for i in items if i["id"] == str(mine.id))["note"] == "Called Tuesday; call back after 5 pm"

    # Too long: 400 naming the field, nothing written.
    too_long = httpx.put(f"{base}/{mine.id}/note", json={"body": "x" * 2001}, headers=me)
    assert too_long.status_code == 400 and "body" in too_long.text
    assert httpx.get(f"{base}/{mine.id}/note", headers=me).json()["body"] == "Called Tuesday; call back after 5 pm"
    not_text = httpx.put(f"{base}/{mine.id}/note", json={"body": 12}, headers=me)
    assert not_text.status_code == 400 and "body" in not_text.text

    # Another provider's assignment: 404 both ways.
    assert httpx.get(f"{base}/{theirs.id}/note", headers=me).status_code == 404
    assert httpx.put(f"{base}/{theirs.id}/note", json={"body": "mine now"}, headers=me).status_code == 404
    with pytest.raises(NotFound):
        inbox.get_note(actor=actors.provider(theirs.provider_id), assignment_id=mine.id)

    # Cleared with "", and each change audited without its text.
    assert httpx.put(f"{base}/{mine.id}/note", json={"body": ""}, headers=me).json()["body"] == ""
    with unit_of_work() as uow:
        rows = uow.session.exec(
            select(AuditLog).where(AuditLog.entity_type == "assignment_note", AuditLog.entity_id == mine.id)
        ).all()
    assert [r.after_state for r in rows] == [{"length": 36}, {"length": 0}]
    assert all("Called" not in str(r.after_state) for r in rows)


# --------------------------------------------------------------------------- instant or digest


def test_each_assignment_is_emailed_exactly_once_instantly_or_in_the_digest(engine_db):
    market = make_market(levels=[("Duo", "10.00", 2)], providers=2, balance="200.00")
    instant_p, digest_p = market.providers
    inbox.update_preferences(actor=actors.provider(digest_p.id), lead_emails="digest", low_balance_threshold=None)
    leads = [
        approved_lead(market.slug, {"zip": "30301", "roof_type": "metal", "area_sqft": str(1000 + i)}) for i in range(3)
    ]
    for lead_id in leads:
        assert distribution.distribute_lead(lead_id=lead_id).outcome == "distributed"
    assignments = [a for lead_id in leads for a in assignments_of(lead_id)]
    assert len(assignments) == 6

    # The worker's email.new_leads job, run twice (a redelivery): instant emails once each.
    for _ in range(2):
        notifications.new_leads(assignment_ids=[a.id for a in assignments])
    instant = _emails("new_lead", _provider_email(instant_p.id))
    assert len(instant) == 3 and _emails("new_lead", _provider_email(digest_p.id)) == []
    by_lead = {e.lead_id: e for e in instant}
    assert set(by_lead) == set(leads)
    for lead_id, email in by_lead.items():
        assert f"/provider/leads/{lead_id}" in email.body_text  # links to that lead's page
        assert "Roof type: metal" in email.body_text  # labels, not keys

    # The hourly digest, run twice: one email for the digest provider listing its three.
    first = notifications.send_lead_digests()
    second = notifications.send_lead_digests()
    assert first["digests"] == 1 and second["digests"] == 0
    (digest,) = _emails("lead_digest", _provider_email(digest_p.id))
    assert digest.subject == "3 new leads"
    for lead_id in leads:
        assert f"/provider/leads/{lead_id}" in digest.body_text
    assert _emails("lead_digest", _provider_email(instant_p.id)) == []

    # Exactly one notice per assignment, naming the email that carried it.
    with unit_of_work() as uow:
        notices = uow.session.exec(
            select(LeadNotice).where(col(LeadNotice.assignment_id).in_([a.id for a in assignments]))
        ).all()
    assert len(notices) == 6
    assert {n.kind for n in notices if n.provider_id == digest_p.id} == {"digest"}
    assert {n.email_id for n in notices if n.provider_id == digest_p.id} == {digest.id}
    assert {n.email_id for n in notices if n.provider_id == instant_p.id} == {e.id for e in instant}

    # A digest provider's new lead waits for the next digest; the instant job never takes it.
    later = approved_lead(market.slug)
    distribution.distribute_lead(lead_id=later)
    notifications.new_leads(assignment_ids=[a.id for a in assignments_of(later)])
    assert len(_emails("new_lead", _provider_email(instant_p.id))) == 4
    assert len(_emails("lead_digest", _provider_email(digest_p.id))) == 1
    assert notifications.send_lead_digests()["digests"] == 1
    newest = _emails("lead_digest", _provider_email(digest_p.id))[-1]
    assert newest.subject == "1 new lead" and f"/provider/leads/{later}" in newest.body_text


def test_the_instant_email_and_the_digest_never_both_announce_an_assignment(engine_db):
    market = make_market(levels=[("Solo", "10.00", 1)], providers=1, balance="100.00")
    (provider,) = market.providers
    inbox.update_preferences(actor=actors.provider(provider.id), lead_emails="digest", low_balance_threshold=None)
    lead_id = approved_lead(market.slug)
    distribution.distribute_lead(lead_id=lead_id)
    (assignment,) = assignments_of(lead_id)
    assert notifications.compose_lead_digest(provider_id=provider.id) is not None
    # The provider switched to instant emails meanwhile: the instant email is not written again.
    inbox.update_preferences(actor=actors.provider(provider.id), lead_emails="instant", low_balance_threshold=None)
    assert notifications.compose_new_lead(assignment_id=assignment.id) is None
    assert notifications.new_leads(assignment_ids=[assignment.id]) == []
    assert _emails("new_lead", _provider_email(provider.id)) == []


def test_preferences_are_validated_field_by_field(engine_db):
    provider = make_provider(balance="10.00")
    me = actors.provider(provider.id)
    with pytest.raises(InvalidInput) as bad:
        inbox.update_preferences(actor=me, lead_emails="weekly", low_balance_threshold="ten")
    assert set(bad.value.details) == {"lead_emails", "low_balance_threshold"}
    with pytest.raises(InvalidInput):
        inbox.update_preferences(actor=me, lead_emails="instant", low_balance_threshold="-5")
    assert inbox.get_preferences(provider_id=provider.id) == inbox.DEFAULT_PREFERENCES
    saved = inbox.update_preferences(actor=me, lead_emails="digest", low_balance_threshold="$1,500")
    assert saved.low_balance_threshold == Decimal("1500.00") and saved.lead_emails == "digest"


# --------------------------------------------------------------------------- low balance


def test_the_low_balance_alert_is_sent_once_per_crossing(engine_db):
    provider = make_provider(balance="50.00")
    me = actors.provider(provider.id)
    inbox.update_preferences(actor=me, lead_emails="instant", low_balance_threshold="20.00")
    address = _provider_email(provider.id)

    def debit(amount: str) -> None:
        ledger.post(provider_id=provider.id, type="debit", amount=amount, key=f"test:{uuid.uuid4()}")

    assert notifications.check_low_balance(provider_id=provider.id) is None  # 50 ≥ 20
    debit("30.00")  # 20.00: at the threshold, not below
    assert notifications.low_balance_sweep()["alerts"] == 0
    debit("5.00")  # 15.00: crossed below
    assert notifications.check_low_balance(provider_id=provider.id) is not None
    debit("5.00")  # 10.00: still below, no second alert
    assert notifications.check_low_balance(provider_id=provider.id) is None
    assert notifications.low_balance_sweep()["alerts"] == 0
    (alert,) = _emails("low_balance", address)
    assert fmt.money(Decimal("15.00")) in alert.body_text and fmt.money(Decimal("20.00")) in alert.body_text

    ledger.post(provider_id=provider.id, type="deposit", amount="40.00", key=f"test:{uuid.uuid4()}")  # 50.00
    assert notifications.low_balance_sweep()["alerts"] == 0  # re-armed, nothing sent
    with unit_of_work() as uow:
        assert uow.session.get(NotificationSettings, provider.id).low_balance_alerted is False
    debit("45.00")  # 5.00: below again
    assert notifications.low_balance_sweep()["alerts"] == 1
    assert notifications.low_balance_sweep()["alerts"] == 0
    assert len(_emails("low_balance", address)) == 2


def test_a_distribution_that_takes_the_balance_below_the_threshold_alerts_in_the_new_leads_job(engine_db):
    market = make_market(levels=[("Solo", "30.00", 1)], providers=1, balance="50.00")
    (provider,) = market.providers
    inbox.update_preferences(actor=actors.provider(provider.id), lead_emails="instant", low_balance_threshold="25")
    lead_id = approved_lead(market.slug)
    distribution.distribute_lead(lead_id=lead_id)
    composed = notifications.new_leads(assignment_ids=[a.id for a in assignments_of(lead_id)])
    assert [c.subject for c in composed] == ["New Test market lead", "Your balance is low"]


# --------------------------------------------------------------------------- CSV


PLUMBING_FIELDS = [
    {"name": "zip", "label": "ZIP code", "type": "zip", "required": True},
    {"name": "issue", "label": "What is wrong", "type": "text", "required": True},
    {"name": "urgency", "label": "How urgent", "type": "select", "required": True, "options": ["today", "week"]},
]


def test_the_leads_csv_has_one_column_per_form_field_niche_by_niche(engine_db):
    roofing = make_market(levels=[("Solo", "5.00", 1)], providers=0)
    plumbing = make_market(levels=[("Solo", "7.00", 1)], providers=0, fields=PLUMBING_FIELDS)
    catalog.update_niche(niche_id=roofing.niche.id, values={"name": "A Roofing"}, actor=ADMIN)
    catalog.update_niche(niche_id=plumbing.niche.id, values={"name": "B Plumbing"}, actor=ADMIN)
    provider = make_provider(balance="100.00")
    subscribe(provider.id, roofing.levels[0].id)
    subscribe(provider.id, plumbing.levels[0].id)
    roof = approved_lead(roofing.slug, {"zip": "30301", "roof_type": "tile", "area_sqft": "900"})
    pipe = approved_lead(plumbing.slug, {"zip": "30302", "issue": "=HYPERLINK(1)", "urgency": "today"})
    for lead_id in (roof, pipe):
        distribution.distribute_lead(lead_id=lead_id)
    (pipe_assignment,) = assignments_of(pipe)
    inbox.save_note(actor=actors.provider(provider.id), assignment_id=pipe_assignment.id, body="urgent one")

    text = "".join(lead_inbox.lead_inbox_csv(actors.provider(provider.id)))
    header = next(csv.reader(io.StringIO(text)))
    assert header[len(lead_inbox.LEAD_CSV_COLUMNS) :] == [
        "ZIP code",
        "Roof type",
        "Roof area",
        "What is wrong",
        "How urgent",
    ]
    assert "payload" not in header
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["lead_id"] for r in rows] == [str(pipe), str(roof)]
    newest, oldest = rows
    assert (newest["niche"], newest["ZIP code"], newest["How urgent"], newest["Roof type"]) == (
        "B Plumbing",
        "30302",
        "today",
        "",
    )
    assert newest["What is wrong"] == "'=HYPERLINK(1)"  # CSV-injection safe
    assert newest["note"] == "urgent one" and newest[money_column("price")] == "7.00"
    assert (oldest["Roof type"], oldest["Roof area"], oldest["What is wrong"]) == ("tile", "900", "")


def test_a_label_two_fields_share_is_told_apart_by_the_field_name():
    forms = [
        ("A", [{"name": "size", "label": "Size"}]),
        (
            "B",
            [
                {"name": "size", "label": "Taille"},
                {"name": "size_m2", "label": "Size"},
                {"name": "email", "label": "email"},
            ],
        ),
    ]
    assert lead_inbox.field_columns(forms) == [
        ("size", "Size"),
        ("size_m2", "Size (size_m2)"),
        ("email", "email (email)"),
    ]


# --------------------------------------------------------------------------- why not me


BILL_FIELDS = [
    {"name": "zip", "label": "ZIP code", "type": "zip", "required": True},
    {"name": "bill", "label": "Monthly bill", "type": "number", "required": True},
]


def test_a_lead_nobody_bought_says_why_for_each_subscription_with_label_and_both_values(engine_db):
    market = make_market(levels=[("Solo", "10.00", 1), ("Premium", "60.00", 1)], providers=0, fields=BILL_FIELDS)
    solo, premium = market.levels
    provider = make_provider(balance="50.00")
    picky = subscribe(provider.id, solo.id, {"bill": {"min": 100}})
    pricey = subscribe(provider.id, premium.id)  # created auto-paused: 50.00 does not cover 60.00
    lead_id = approved_lead(market.slug, {"zip": "30301", "bill": "80"})
    assert distribution.distribute_lead(lead_id=lead_id).outcome != "distributed"

    me = actors.provider(provider.id)
    (row,) = [r for r in missed_leads.missed_leads(me) if r["lead_id"] == str(lead_id)]
    assert row["status"] == "approved"
    assert row["answers"] == [("Monthly bill", "80")]  # only what its filters use, by label
    reasons = {r["subscription_id"]: r for r in row["reasons"]}
    assert set(reasons) == {str(picky.id), str(pricey.id)}
    bill = reasons[str(picky.id)]
    assert (bill["reason"], bill["field_label"], bill["rule"], bill["value"]) == (
        "filter_mismatch:bill",
        "Monthly bill",
        {"min": 100},
        "80",
    )
    assert fmt.why_not(bill) == "Your filter: Monthly bill ≥ 100; this lead: 80."
    assert reasons[str(pricey.id)]["reason"] == "subscription_paused"
    # The page's second step gives the same reasons.
    again = missed_leads.missed_reasons(me, lead_ids=[lead_id])[str(lead_id)]
    assert [fmt.why_not(r) for r in again] == [fmt.why_not(r) for r in row["reasons"]]

    # Money arrives: the paused one resumes, and now says the lead is within reach.
    ledger.post(provider_id=provider.id, type="deposit", amount="20.00", key=f"test:{uuid.uuid4()}")
    (now,) = [
        r
        for r in missed_leads.missed_reasons(me, lead_ids=[lead_id])[str(lead_id)]
        if r["subscription_id"] == str(pricey.id)
    ]
    assert now["reason"] == "eligible_now"


def test_the_sentences_name_the_field_by_label_and_show_both_values():
    base = {"subscription_id": "s", "level": "Solo", "text": "plain", "balance": None, "price": None}
    mismatch = {**base, "reason": "filter_mismatch:roof_type", "field_label": "Roof type", "value": "flat"}
    assert (
        fmt.why_not({**mismatch, "rule": ["metal", "tile"]})
        == "Your filter: Roof type is metal or tile; this lead: flat."
    )
    assert fmt.why_not({**mismatch, "rule": {"min": 1, "max": 5}, "value": None}) == (
        "Your filter: Roof type from 1 to 5; this lead gave no Roof type."
    )
    assert fmt.why_not({**mismatch, "rule": {"near": {"zip": "10001", "miles": 25}}}) == (
        "Your filter: Roof type within 25 miles of 10001; this lead: flat."
    )
    assert "changed that filter since" in fmt.why_not({**mismatch, "rule": None})
    poor = {**base, "reason": "insufficient_balance", "field_label": "", "rule": None, "value": None}
    assert fmt.why_not({**poor, "balance": "25.00", "price": "30.00"}) == (
        f"Your balance ({fmt.money(Decimal('25.00'))}) is below this level's price ({fmt.money(Decimal('30.00'))})."
    )
    assert fmt.why_not({**poor, "text": "Your balance was below the price."}) == "Your balance was below the price."


def test_with_the_real_worker_one_email_per_lead_instantly_or_in_one_digest(shared_db, celery_worker, smtp_sink):
    """The worker's email.new_leads job (from the distribution's outbox row) and the
    email.lead_digest job sent twice: the instant provider gets one email linking to the
    lead's page, the digest provider exactly one digest and no instant email."""
    import time

    from hotlead_app import jobs
    from hotlead_app.infra.queue import get_celery
    from tests.conftest import wait_for

    market = make_market(levels=[("Duo", "10.00", 2)], providers=2, balance="100.00")
    instant_p, digest_p = market.providers
    inbox.update_preferences(actor=actors.provider(digest_p.id), lead_emails="digest", low_balance_threshold=None)
    lead_id = approved_lead(market.slug)
    distribution.distribute_lead(lead_id=lead_id)  # the worker may have been first: either way
    wait_for(lambda: len(assignments_of(lead_id)) == 2, timeout=30, message="the distribution")

    (instant,) = wait_for(
        lambda: [m for m in smtp_sink.to(instant_p.email) if m["Subject"].startswith("New ")],
        timeout=60,
        message="the instant new-lead email",
    )
    assert f"/provider/leads/{lead_id}" in instant.get_body(preferencelist=("plain",)).get_content()

    for _ in range(2):
        get_celery().send_task(jobs.EMAIL_LEAD_DIGEST)
    (digest,) = wait_for(
        lambda: [m for m in smtp_sink.to(digest_p.email) if m["Subject"] == "1 new lead"],
        timeout=60,
        message="the digest",
    )
    assert f"/provider/leads/{lead_id}" in digest.get_body(preferencelist=("plain",)).get_content()
    time.sleep(3)  # the second digest job has run by now (the queue is FIFO): it sent nothing
    assert len([m for m in smtp_sink.to(digest_p.email) if m["Subject"] == "1 new lead"]) == 1
    assert [m for m in smtp_sink.to(digest_p.email) if m["Subject"].startswith("New ")] == []
    assert len([m for m in smtp_sink.to(instant_p.email) if m["Subject"].startswith("New ")]) == 1


def test_the_notification_settings_api_round_trips_and_names_the_bad_field(engine_db, api_server):
    market = make_market(levels=[("Solo", "10.00", 1)], providers=1, balance="100.00")
    (provider,) = market.providers
    me = _headers(api_server, provider.id)
    url = f"{api_server}/api/v1/provider/notifications"
    assert httpx.get(url, headers=me).json() == {"lead_emails": "instant", "low_balance_threshold": None}

    bad = httpx.put(url, json={"lead_emails": "weekly", "low_balance_threshold": 25.5}, headers=me)
    assert bad.status_code == 400
    assert set(bad.json()["error"]["details"]) == {"lead_emails", "low_balance_threshold"}  # a float is refused
    assert httpx.get(url, headers=me).json()["lead_emails"] == "instant"  # nothing written

    ok = httpx.put(url, json={"lead_emails": "digest", "low_balance_threshold": "25.50"}, headers=me)
    assert ok.status_code == 200 and ok.json() == {"lead_emails": "digest", "low_balance_threshold": "25.50"}
    assert httpx.get(url, headers=me).json() == ok.json()
    off = httpx.put(url, json={"lead_emails": "instant", "low_balance_threshold": None}, headers=me)
    assert off.json() == {"lead_emails": "instant", "low_balance_threshold": None}

    # A note with a NUL or a lone surrogate is a 400, never a database error.
    lead_id = approved_lead(market.slug)
    distribution.distribute_lead(lead_id=lead_id)
    (assignment,) = assignments_of(lead_id)
    note_url = f"{api_server}/api/v1/provider/assignments/{assignment.id}/note"
    for raw in (b'{"body": "a\\u0000b"}', b'{"body": "\\ud800"}'):
        resp = httpx.put(note_url, content=raw, headers={**me, "content-type": "application/json"})
        assert resp.status_code == 400, resp.text
    assert httpx.get(note_url, headers=me).json()["body"] == ""
