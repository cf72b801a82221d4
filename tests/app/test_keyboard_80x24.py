"""A whole built-in lesson of each kind, at 80x24, with the keyboard alone: a wrong answer first, then
every step right. After each check the verdict must be on screen (its first line inside the screen and
inside its box), with no scrolling by the learner; a hands-on step opens with the focus in its editor."""

from __future__ import annotations

import json
from typing import Any

import pytest
from textual.geometry import Region
from textual.widgets import Static

from tests.conftest import BUILTIN
from tutor.app.screens.lesson import LessonScreen
from tutor.app.widgets.answer_area import answer_spec

SIZE = (80, 24)
pytestmark = [
    pytest.mark.anyio,
    pytest.mark.slow,
]


def verdict_in_view(app: Any) -> str:
    """The verdict's text, after asserting its first line is visible on the screen."""
    screen = app.screen
    verdict = screen.query_one("#verdict", Static)
    box = screen.query_one("#feedback")
    assert box.display and verdict.display
    first_line = Region(verdict.region.x, verdict.region.y, verdict.region.width, 1)
    assert first_line.height == 1 and verdict.region.width > 0
    assert Region(0, 0, *SIZE).contains_region(first_line), (first_line, SIZE)
    assert box.region.contains_region(first_line), (first_line, box.region)
    return str(verdict.render())


async def type_text(pilot: Any, text: str) -> None:
    for line_number, line in enumerate(text.split("\n")):
        if line_number:
            await pilot.press("enter")
        if line:
            await pilot.press(*list(line))


async def check(pilot: Any, settle: Any) -> str:
    screen = pilot.app.screen
    before = screen.last_result
    await pilot.press("f5")
    for _ in range(100):  # the check runs in a worker; on a busy machine it takes a moment
        await settle(pilot)
        if screen.last_result is not before and screen.last_result is not None:
            break
        await pilot.pause(0.1)
    await pilot.pause(0.2)
    return verdict_in_view(pilot.app)


async def open_lesson(pilot: Any, settle: Any, lesson_id: str, step_id: str | None = None) -> LessonScreen:
    """Open the lesson (at `step_id`, else where the learner is) and wait until its sandboxes run."""
    await settle(pilot)
    pilot.app.open_lesson(lesson_id, step_id)
    await settle(pilot)
    for _ in range(100):  # the sandboxes start in a worker
        screen = pilot.app.screen
        if isinstance(screen, LessonScreen) and screen.lesson is not None and screen.session_ready:
            break
        await pilot.pause(0.1)
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, LessonScreen)
    return screen


# -- how a learner does each kind of action, keys only ----------------------------------------------
async def answer(pilot: Any, settle: Any, screen: LessonScreen, value: Any) -> None:
    spec = answer_spec(screen.step.check)  # type: ignore[union-attr]
    assert spec is not None
    focused = pilot.app.focused
    assert focused is not None and screen.query_one("#answer") in focused.ancestors_with_self, screen.step.id  # type: ignore[union-attr]
    if spec.kind == "choice" and spec.multiple:
        wanted = set(value if isinstance(value, list) else [value])
        for option in spec.options:
            if option.id in wanted:
                await pilot.press("space")
            await pilot.press("tab")
    elif spec.kind == "choice":
        ids = [o.id for o in spec.options]
        radio = screen.query_one("#answer-choice")
        start = getattr(radio, "_selected", 0) or 0
        for _ in range(ids.index(str(value)) - start):
            await pilot.press("down")
        await pilot.press("enter")
    else:
        await type_text(pilot, str(value))


async def run_sql(pilot: Any, settle: Any, sql: str) -> None:
    if pilot.app.focused is None or pilot.app.focused.id != "sql-editor":
        await pilot.press("ctrl+w")  # one key to the editor (after answering, or after F4)
    assert pilot.app.focused is not None and pilot.app.focused.id == "sql-editor"
    await pilot.press("ctrl+l")
    await type_text(pilot, sql.strip())
    await pilot.press("ctrl+r")
    await settle(pilot)


async def send(pilot: Any, settle: Any, screen: LessonScreen, request: Any) -> None:
    app = pilot.app
    await pilot.press("ctrl+w")  # one key to the workbench's editor, wherever the focus was
    await pilot.pause()
    assert app.focused is not None and app.focused.id == "rw-url", app.focused
    await pilot.press("ctrl+l")  # a clean request: GET, no headers, no body
    target = request.path
    if request.query:
        target += "?" + "&".join(f"{k}={v}" for k, v in request.query.items())
    # a request line sets the method: "POST /v1/books"
    await type_text(pilot, target if request.method == "GET" else f"{request.method} {target}")
    body = json.dumps(request.json_body) if request.json_body is not None else (request.body or "")
    if body or request.headers:
        await pilot.press("tab")  # from the URL straight to the headers, whichever tab was in front
        await pilot.pause()
        assert app.focused is not None and app.focused.id == "rw-headers", app.focused
        await type_text(pilot, "\n".join(f"{k}: {v}" for k, v in request.headers.items()))
        await pilot.press("tab")
        assert app.focused is not None and app.focused.id == "rw-body", app.focused
        await type_text(pilot, body)
    await pilot.press("ctrl+r")
    await settle(pilot)
    await pilot.pause(0.2)  # the sandbox logs an exchange just after its last byte


async def do_step(pilot: Any, settle: Any, screen: LessonScreen, action: Any) -> None:
    if action.sql:
        await run_sql(pilot, settle, action.sql)
    for request in action.requests:
        await send(pilot, settle, screen, request)
    if action.answer is not None:
        if action.sql or action.requests:
            await pilot.press("ctrl+o")  # one key back to the answer
            await pilot.pause()
        await answer(pilot, settle, screen, action.answer)


async def reset_step(pilot: Any, settle: Any) -> None:
    """F4, and wait until the reset has happened (it runs in a worker; on a busy machine a fixed pause
    was too short, and the next requests counted before the step's new start)."""

    def done() -> set[str]:
        return {n.identity for n in pilot.app._notifications if "This step starts afresh" in str(n.message)}

    before = done()
    await pilot.press("f4")
    for _ in range(200):
        await settle(pilot)
        if done() - before:
            break
        await pilot.pause(0.05)
    assert done() - before, "the reset did not finish"


async def drive_whole_lesson(pilot: Any, settle: Any, lesson_id: str, *, hands_on: str | None) -> list[str]:
    screen = await open_lesson(pilot, settle, lesson_id)
    lesson = screen.lesson
    assert lesson is not None
    verdicts = []
    for number, step in enumerate(lesson.steps):
        assert screen.step is step
        if hands_on and answer_spec(step.check) is None:
            assert pilot.app.focused is not None and pilot.app.focused.id == hands_on, pilot.app.focused
        if number == 0:
            wrong = step.wrong_answers[0]
            await do_step(pilot, settle, screen, wrong)
            text = await check(pilot, settle)
            assert "✗ Not yet" in text, text
            verdicts.append(text)
            if wrong.sql or wrong.requests:
                await reset_step(pilot, settle)  # a wrong write may be in the way
            elif answer_spec(step.check) is not None and answer_spec(step.check).kind == "choice":
                await pilot.press("ctrl+l")
                screen.query_one("#answer").focus_input()  # type: ignore[attr-defined]
        await do_step(pilot, settle, screen, step.solution)
        text = await check(pilot, settle)
        assert "✓ Passed" in text, (step.id, text)
        verdicts.append(text)
        await pilot.press("f8")
        await settle(pilot)
    return verdicts


@pytest.fixture
def builtin_app(app_factory):
    return lambda: app_factory(BUILTIN)


async def test_a_concept_lesson_at_80x24(builtin_app, settle) -> None:
    """Status codes: choice, number and multiple-choice steps, with HTTP steps between them."""
    app = builtin_app()
    async with app.run_test(size=SIZE) as pilot:
        verdicts = await drive_whole_lesson(pilot, settle, "status-codes", hands_on="rw-url")
    assert len(verdicts) >= 5


async def test_a_sql_lesson_at_80x24(builtin_app, settle) -> None:
    app = builtin_app()
    async with app.run_test(size=SIZE) as pilot:
        verdicts = await drive_whole_lesson(pilot, settle, "update-safely", hands_on="sql-editor")
    assert len(verdicts) >= 4


async def test_an_api_lesson_at_80x24(builtin_app, settle) -> None:
    app = builtin_app()
    async with app.run_test(size=SIZE) as pilot:
        verdicts = await drive_whole_lesson(pilot, settle, "pages-and-status", hands_on="rw-url")
    assert len(verdicts) >= 6


async def test_a_mistake_in_the_way_names_the_reset_key_and_f4_clears_it(builtin_app, settle) -> None:
    """UPDATE without WHERE, then the right UPDATE: it cannot pass on the changed data; the text says so
    and names F4, and after F4 the same statement passes."""
    app = builtin_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_lesson(pilot, settle, "update-safely")
        step = screen.step
        assert step is not None and step.solution.sql
        wrong = next(w for w in step.wrong_answers if w.sql and "WHERE" not in w.sql.upper())
        await run_sql(pilot, settle, wrong.sql)
        await run_sql(pilot, settle, step.solution.sql)
        text = await check(pilot, settle)
        assert "✗ Not yet" in text and "F4 puts the step's data back" in text
        await reset_step(pilot, settle)
        await run_sql(pilot, settle, step.solution.sql)
        assert "✓ Passed" in await check(pilot, settle)


async def test_an_earlier_write_in_the_way_of_an_http_step_names_the_reset_key(builtin_app, settle) -> None:
    """The lost-update step: a PATCH without If-Match first (the year is now 2002), then the right
    requests. The look at the book afterwards fails for ever; the verdict names F4, and after F4 the same
    requests pass. Sent from outside the tutor, as curl would."""
    import httpx

    app = builtin_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_lesson(pilot, settle, "methods-and-retries", "lost-update")
        assert screen.step is not None and screen.step.id == "lost-update"

        def right_requests() -> None:
            assert screen.session is not None and screen.session.api is not None
            with httpx.Client(base_url=str(screen.session.api.base_url)) as client:
                etag = client.get("/v1/books/5").headers["etag"]
                assert client.patch("/v1/books/5", json={"price": 19.99}, headers={"If-Match": etag}).status_code == 200
                assert client.patch("/v1/books/5", json={"year": 2002}, headers={"If-Match": etag}).status_code == 412

        assert screen.session is not None and screen.session.api is not None
        with httpx.Client(base_url=str(screen.session.api.base_url)) as client:
            assert client.patch("/v1/books/5", json={"year": 2002}).status_code == 200  # the lost update itself
        right_requests()
        text = await check(pilot, settle)
        assert "✗ Not yet" in text and "F4 puts the step's data back" in text, text
        await reset_step(pilot, settle)
        right_requests()
        assert "✓ Passed" in await check(pilot, settle)


async def test_the_weak_mode_banner_follows_a_mode_switched_off_from_curl(builtin_app, settle) -> None:
    """forge-a-token's workbench names the weak modes on; switching one off (PUT /_sandbox/auth, from
    curl or the workbench) took it off the banner only when the lesson was opened again."""
    import httpx

    app = builtin_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_lesson(pilot, settle, "forge-a-token")
        banner = screen.query_one("#rw-weak", Static)
        assert "accept_alg_none" in str(banner.render())
        assert screen.session is not None and screen.session.api is not None
        with httpx.Client(base_url=str(screen.session.api.base_url)) as client:
            assert client.put("/_sandbox/auth", json={"accept_alg_none": False}).status_code == 200
        for _ in range(40):
            await pilot.pause(0.05)
            if "accept_alg_none" not in str(banner.render()):
                break
        text = str(banner.render())
        assert "accept_alg_none" not in text and "Deliberately weak auth in this lesson:" in text, text


async def test_a_lesson_reopened_part_way_has_the_switches_the_learner_made(builtin_app, settle) -> None:
    """negative-caching: step 2 has the learner turn the negative TTL on (PUT /_sandbox/caching). Quit
    after it and come back: step 3's stale 404 needs it on, and the API starts from its settings, so the
    tutor makes the learner's switch again (and says so); the right requests then pass."""
    app = builtin_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_lesson(pilot, settle, "negative-caching")
        assert screen.lesson is not None and screen.session is not None
        for step in screen.lesson.steps[:2]:
            assert screen.step is step
            screen.session.apply(step.solution)  # as curl would send them
            assert "✓ Passed" in await check(pilot, settle), step.id
            await pilot.press("f8")
            await settle(pilot)
        await pilot.press("escape")
        await settle(pilot)
        for _ in range(50):
            if not app.sessions:
                break
            await pilot.pause(0.1)

        screen = await open_lesson(pilot, settle, "negative-caching")
        assert screen.step is not None and screen.step.id == "stale-404"
        notes = [str(n.message) for n in app._notifications]
        assert any("PUT /_sandbox/caching" in note for note in notes), notes
        assert screen.session is not None and screen.session.api is not None

        # The API dies under the learner and is restarted (F12): the switch is made again there too.
        dead = screen.session.api
        dead.stop()
        await pilot.press("f12")
        for _ in range(100):
            await settle(pilot)
            if screen.session.api is not dead and screen.session_ready:
                break
            await pilot.pause(0.1)
        assert screen.session.api is not dead
        screen.session.apply(screen.step.solution)
        assert "✓ Passed" in await check(pilot, settle)


async def test_a_choice_below_a_long_text_is_in_view_when_the_step_opens(builtin_app, settle) -> None:
    """cookie-flags at 80x24: its text is longer than the reading pane, and the options were found below
    it, out of view, by a new learner (on a busy machine the text was laid out after the options had
    been scrolled into view). The step now waits for its text before it scrolls to the answer; this
    test holds the result, the answer in view with the sandboxes running."""
    app = builtin_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_lesson(pilot, settle, "sessions-and-cookies", "cookie-flags")
        await pilot.pause(0.3)
        await settle(pilot)
        focused = app.focused
        assert focused is not None and screen.query_one("#answer") in focused.ancestors_with_self, focused
        reading = screen.query_one("#reading")
        assert reading.scroll_y > 0  # the text is longer than the pane here, so the test means something
        assert reading.region.contains_region(focused.region), (reading.region, focused.region)


async def test_f1_lists_the_keys_that_reach_every_part(builtin_app, settle) -> None:
    app = builtin_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_lesson(pilot, settle, "pages-and-status")
        await pilot.press("f1")
        await settle(pilot)
        text = "\n".join(str(m._markdown) for m in app.screen.query("Markdown"))
        for key in (
            "Ctrl+O",
            "Ctrl+W",
            "Ctrl+E",
            "Ctrl+N",
            "Ctrl+G",
            "Ctrl+L",
            "F4",
            "Ctrl+S",
            "Ctrl+U",
            "Traffic",
            "Enter",
            "Ctrl+Q",
            "F5 or Ctrl+T",
            "F8 or Ctrl+F",
        ):
            assert key in text, key


async def test_footer_shows_quit_and_help_at_80_columns(builtin_app, settle) -> None:
    app = builtin_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_lesson(pilot, settle, "pages-and-status")
        footer = app.screen.query_one("Footer")
        keys = [str(k.render()) for k in footer.query("FooterKey")]
        right_edge = max(k.region.right for k in footer.query("FooterKey"))
        assert any("Quit" in k for k in keys) and any("Help" in k for k in keys)
        assert right_edge <= SIZE[0]
