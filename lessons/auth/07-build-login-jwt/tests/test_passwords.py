"""What a stored password must be. Each test's docstring is what a learner reads when it fails."""

import app


def test_not_the_password():
    """hash_password must not return the password itself: a stolen table would give every password away."""
    assert app.hash_password("correct horse battery") != "correct horse battery"


def test_argon2id():
    """hash_password should use argon2id (its hash starts with $argon2id$), as OWASP advises first."""
    assert app.hash_password("correct horse battery").startswith("$argon2id$")


def test_salted():
    """Two hashes of the same password must differ (a random salt), so equal passwords cannot be spotted."""
    assert app.hash_password("same password") != app.hash_password("same password")


def test_verify_right_password():
    """verify_password must accept the right password for a stored hash."""
    assert app.verify_password(app.hash_password("s3cret pass"), "s3cret pass") is True


def test_verify_wrong_password():
    """verify_password must answer False (not raise) for a wrong password."""
    assert app.verify_password(app.hash_password("s3cret pass"), "guess") is False
