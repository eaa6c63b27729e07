"""Sign-in sends the person back only to a page of this site, among its role's pages."""

from __future__ import annotations

import pytest

from hotlead_app import routes
from hotlead_app.domain.redirects import path_of, safe_next


@pytest.mark.parametrize(
    "value",
    ["/provider/leads", "/provider/leads?status=new&x=1", "/admin", "/admin/leads/1234#top", "/"],
)
def test_a_same_origin_path_is_kept(value):
    assert safe_next(value) == value


@pytest.mark.parametrize(
    "value",
    [
        "//evil.com",
        "//evil.com/provider",
        "https://evil.com",
        "https://evil.com/provider",
        "http:/evil.com",
        "/\\evil.com",
        "/\\/evil.com",
        "\\\\evil.com",
        "javascript:alert(1)",
        "evil.com",
        "provider/leads",
        "/\tevil",
        "/ /evil.com",
        "/\x00",
        "/" + "a" * 2000,
        "",
        None,
        ["/provider"],
    ],
)
def test_anything_else_is_refused(value):
    assert safe_next(value) is None


def test_each_role_lands_only_among_its_own_pages():
    assert routes.in_area("provider", "/provider") and routes.in_area("provider", "/provider/leads")
    assert not routes.in_area("provider", "/providers") and not routes.in_area("provider", "/admin/leads")
    assert routes.in_area("admin", "/admin/leads") and not routes.in_area("admin", "/provider")
    assert not routes.in_area("buyer", "/provider")
    assert routes.landing("admin") == routes.ADMIN_QUEUE and routes.landing("provider") == routes.PROVIDER_HOME
    assert path_of("/provider/leads?x=1") == "/provider/leads"
    assert routes.with_next(routes.SIGN_IN, "/provider/leads?x=1") == "/signin?next=/provider/leads%3Fx%3D1"


@pytest.mark.parametrize(
    ("role", "next_value", "lands"),
    [
        ("provider", "/provider/leads?x=1", "/provider/leads?x=1"),
        ("provider", "//evil.com", "/provider"),
        ("provider", "https://evil.com", "/provider"),
        ("provider", "/\\evil.com", "/provider"),
        ("provider", "/admin/queue", "/provider"),
        ("provider", "", "/provider"),
        ("admin", "/admin/leads", "/admin/leads"),
        ("admin", "/provider/leads", "/admin/queue"),
    ],
)
def test_sign_in_lands_on_the_asked_page_or_the_roles_home(role, next_value, lands):
    from hotlead_app.pages.signin import landing_after_sign_in

    assert landing_after_sign_in(role, next_value) == lands
