"""Password hashes: argon2id with pinned parameters."""

from __future__ import annotations

from hotlead_app.services import accounts


def test_argon2_parameters_are_pinned():
    digest = accounts.hash_password("correct horse battery")
    assert digest.startswith("$argon2id$v=19$m=65536,t=3,p=4$"), digest
    assert accounts.verify_password("correct horse battery", digest)
    assert not accounts.verify_password("wrong horse battery", digest)
    settings = accounts._passwords.to_dict()
    assert settings["argon2__time_cost"] == 3
    assert settings["argon2__memory_cost"] == 65536
    assert settings["argon2__parallelism"] == 4
