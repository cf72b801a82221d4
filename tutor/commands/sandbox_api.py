"""`backend-tutor sandbox api LESSON_ID`: serve a lesson's sandbox API in the foreground on 127.0.0.1."""

from __future__ import annotations

import signal
import sys
import threading
from pathlib import Path
from types import FrameType

import click

from tutor.cli import pack_path_option


@click.command()
@click.argument("lesson_id")
@pack_path_option
@click.option(
    "--port", type=click.IntRange(0, 65535), default=0, show_default=True, help="Port on 127.0.0.1 (0: any free port)."
)
def api(lesson_id: str, pack_path: Path | None, port: int) -> None:
    """Serve LESSON_ID's sandbox API on 127.0.0.1 until Ctrl+C (its database too, if it has one)."""
    from tutor.pack.loader import load_pack_or_raise
    from tutor.paths import Home, builtin_pack_path

    try:
        pack = load_pack_or_raise(pack_path or builtin_pack_path())
    except Exception as exc:
        raise click.ClickException(f"the pack does not load: {exc}") from exc
    lesson = pack.lesson(lesson_id)
    if lesson is None:
        with_api = [e.lesson.id for e in pack.lessons if e.lesson.sandboxes.api is not None]
        raise click.ClickException(
            f"no lesson '{lesson_id}' in {pack.id}; lessons with an API: {', '.join(with_api) or 'none'}"
        )
    if lesson.sandboxes.api is None:
        raise click.ClickException(f"lesson '{lesson_id}' has no sandbox API")

    from sandboxes.api.sandbox import ApiSandbox, SandboxStartError

    sql = None
    if lesson.sandboxes.sql is not None:
        from sandboxes.sql.sandbox import SqlSandbox

        click.echo(f"Preparing the lesson database for {lesson_id}...", err=True)
        # Its own live copy, so a tutor open on the same lesson keeps its own.
        sql = SqlSandbox.open(
            lesson.sandboxes.sql, pack_root=pack.root, home=Home.from_env(), lesson_id=lesson.id, live_name="cli-api"
        )
    try:
        log_path = Home.from_env().sessions / lesson.id / "cli-requests.log"
        sandbox = ApiSandbox.start(
            lesson.sandboxes.api, database=sql.path if sql else None, port=port, log_path=log_path
        )
    except SandboxStartError as exc:
        if sql is not None:
            sql.close()
        raise click.ClickException(str(exc)) from exc

    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        click.echo(f"{lesson.title}: sandbox API at {sandbox.base_url}")
        click.echo(f"  try:  {sandbox.curl_example()}")
        click.echo(f"  docs: {sandbox.base_url}/docs")
        if sql is not None:
            click.echo(f"  database: {sql.path}")
        if sandbox.log_path is not None:
            click.echo(f"  request log: {sandbox.log_path}   (tail -f it; one JSON line per request)")
        background = sandbox.settings
        if background.jobs is not None:
            click.echo(
                f"  jobs: table {background.jobs.table} in the database; the worker: {sandbox.base_url}/_sandbox/jobs"
            )
        if background.webhooks is not None:
            endpoint = background.webhooks.endpoint or "none yet (PUT /_sandbox/webhooks)"
            click.echo(f"  webhooks: to {endpoint}, signed with {background.webhooks.secret}")
        for mode in sandbox.weak_auth_modes:
            click.echo(f"  WARNING: deliberately weak auth for this lesson: {mode}")
        cors = background.cors
        if cors is not None:
            click.echo(f"  cors: pages of {', '.join(cors.allow_origins) or 'no origin'} may read the answers")
            if cors.weak is not None and cors.weak.reflect_origin:
                click.echo("  WARNING: deliberately weak CORS for this lesson: reflect_origin")
        click.echo("Press Ctrl+C to stop.")
        sys.stdout.flush()
        while not stop.wait(0.5):
            if not sandbox.alive:
                raise click.ClickException("the sandbox API stopped unexpectedly")
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        sandbox.stop()
        if sql is not None:
            sql.close()
        click.echo("Stopped.", err=True)
