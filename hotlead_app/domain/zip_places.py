"""A ZIP code's place (city and state) for the subscription editor's radius: the
pinned offline ``zipcodes`` package, the same data as the ``zip_centroids`` table.
Public reference data, no tenant's: it lives with the other ZIP rules, not among the
actor-checked reads."""

from __future__ import annotations

from typing import TypedDict

from hotlead_app.domain.controls import zip5, zip_centroids


class ZipPlace(TypedDict):
    zip: str
    city: str
    state: str


def zip_place(value: str) -> ZipPlace | None:
    """The city and state of a known US ZIP code (its first five digits), else None."""
    code = zip5(value.strip()) if isinstance(value, str) else None
    if code is None or code not in zip_centroids():
        return None
    import zipcodes

    found = zipcodes.matching(code)
    city = str(found[0].get("city") or "") if found else ""
    return {"zip": code, "city": city, "state": zip_centroids()[code][2]}
