"""What a stored password must be. Each test's docstring is what a learner reads when it fails."""

import re

import app

# OWASP Password Storage Cheat Sheet, argon2id: these (memory in KiB, passes) pairs are equally
# strong minimums, all with one lane. More memory or more passes than one of them is fine.
OWASP_MINIMUMS = [(47104, 1), (19456, 2), (12288, 3), (9216, 4), (7168, 5)]


def test_not_the_password():
    """hash_password must not return the password itself: a stolen table would give every password away."""
    assert app.hash_password("correct horse battery") != "correct horse battery"


def test_argon2id():
    """hash_password should use argon2id (its hash starts with $argon2id$), as OWASP advises first."""
    assert app.hash_password("correct horse battery").startswith("$argon2id$")


def test_slow_on_purpose():
    """hash_password must cost at least OWASP's minimum for argon2id (19 MiB of memory and 2 passes, or
    an equally strong pair from its table): a cheap hash lets an attacker try guesses by the billion."""
    stored = app.hash_password("correct horse battery")
    found = re.match(r"\$argon2id\$v=\d+\$m=(\d+),t=(\d+),p=(\d+)\$", stored)
    assert found, f"not an argon2id hash string: {stored[:40]}"
    memory, passes = int(found[1]), int(found[2])
    assert any(memory >= m and passes >= t for m, t in OWASP_MINIMUMS), (
        f"m={memory} KiB and t={passes} passes is below every minimum of OWASP's table"
    )


def test_salted():
    """Two hashes of the same password must differ (a random salt), so equal passwords cannot be spotted."""
    assert app.hash_password("same password") != app.hash_password("same password")


def test_verify_right_password():
    """verify_password must accept the right password for a stored hash."""
    assert app.verify_password(app.hash_password("s3cret pass"), "s3cret pass") is True


def test_verify_wrong_password():
    """verify_password must answer False (not raise) for a wrong password."""
    assert app.verify_password(app.hash_password("s3cret pass"), "guess") is False


def test_the_hash_is_not_a_password():
    """verify_password must refuse the stored hash itself as a password: whoever reads a leaked users
    table could then log in as anyone without cracking a single hash."""
    stored = app.hash_password("s3cret pass")
    assert app.verify_password(stored, stored) is False
