"""A `code_http` step that stops the learner's app while requests are in flight (`shutdown:`).

The step's request is sent `in_flight` times at once; when every copy has reached the app, the app's
server gets SIGTERM, as a deployment or Kubernetes stops a pod. The step passes when each copy got its
whole answer (the step's `expect`), the process ended within `exit_within_ms`, and, read on the app's
database after it ended, each of `database` returns its rows: what the app's shutdown code had to write.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from tutor.pack.base import Model, NonEmpty


class DatabaseAfterExit(Model):
    """A query on the app's own database copy once its process has ended, and the rows it must return."""

    query: NonEmpty = Field(description="SQL the checker runs (read only): SELECT count(*) FROM events")
    expect: list[list[Any]] = Field(description="The rows it must return, as lists of values: [[3]].")
    says: NonEmpty = Field(
        description="What those rows are, in the learner's words, for the report when they are missing: "
        "'the 3 events your app accepted (202) before it was told to stop'."
    )


class ShutdownProbe(Model):
    """Stop the app while this step's request is in flight, and judge what was lost."""

    in_flight: int = Field(
        default=3,
        ge=1,
        le=20,
        description="How many copies of the step's request are sent at once, each on its own connection; the "
        "signal goes when every one has reached the app. Name a request that takes a while (one that calls a "
        "slow upstream), so they are still being answered when it arrives.",
    )
    signal: Literal["SIGTERM", "SIGINT"] = Field(
        default="SIGTERM",
        description="What the server is sent: SIGTERM, as Kubernetes and most process managers stop a process.",
    )
    exit_within_ms: float = Field(
        default=5000,
        gt=0,
        le=30000,
        description="The whole process must have ended this many milliseconds after the signal (Kubernetes "
        "kills it after its `terminationGracePeriodSeconds`); past it the checker kills it and says so.",
    )
    database: list[DatabaseAfterExit] = Field(
        default_factory=list,
        description="Read on the app's database after its process ended: what its shutdown code (or its "
        "requests) had to leave there.",
    )
