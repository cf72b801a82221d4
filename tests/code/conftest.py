"""Build-it tests reuse the app tests' fixtures (anyio backend, settle)."""

from tests.app.conftest import anyio_backend, settle  # noqa: F401
