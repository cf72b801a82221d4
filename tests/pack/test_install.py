"""Packs a cohort receives: new -> validate -> test -> build -> install -> list -> open -> remove,
upgrades that keep progress, hostile archives, wheel packs and the trust flag."""

from __future__ import annotations

import json
import stat
import zipfile
from pathlib import Path

import pytest

from tests.conftest import run_cli as cli
from tutor import __version__
from tutor.pack.install import InstallError, find, install, installed, remove
from tutor.paths import Home
from tutor.progress import ProgressStore

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_round_trip_new_validate_test_build_install_list_open_remove(tmp_path: Path) -> None:
    home = tmp_path / "home"
    folder = tmp_path / "cohort-b"
    made = cli("pack", "new", str(folder), home=home)
    assert made.returncode == 0, made.stderr
    assert (folder / "README.md").is_file()
    assert (
        (folder / "basics" / "01-status-classes.yaml")
        .read_text()
        .startswith("# yaml-language-server: $schema=../schema/lesson.schema.json")
    )
    validated = cli("pack", "validate", str(folder), home=home)
    assert validated.returncode == 0 and "ok: cohort-b 0.1.0: 4 lessons, 7 steps, 0 warnings" in validated.stdout
    tested = cli("pack", "test", str(folder), "--trust", home=home)  # its build-it lesson runs code
    assert tested.returncode == 0, tested.stdout
    assert tested.stdout.strip().endswith("16 passed, 0 failed")

    (folder / "basics" / "01-status-classes.yaml~").write_text("backup")
    (folder / ".git").mkdir()
    (folder / ".git" / "HEAD").write_text("ref")
    archive = tmp_path / "dist" / "cohort-b.zip"
    built = cli("pack", "build", str(folder), "--trust", "-o", str(archive), home=home)
    assert built.returncode == 0, built.stdout + built.stderr
    with zipfile.ZipFile(archive) as bundle:
        names = sorted(bundle.namelist())
        manifest = json.loads(bundle.read("pack-manifest.json"))
    assert names == [
        "README.md",
        "basics/01-status-classes.yaml",
        "build/01-build-count.yaml",
        "build/01-build-count/reference/app.py",
        "build/01-build-count/starter/app.py",
        "build/01-build-count/wrong-list/app.py",
        "databases/01-first-queries.yaml",
        "http/01-first-requests.yaml",
        "pack-manifest.json",
        "pack.yaml",
    ]
    assert manifest["pack"] == {"id": "cohort-b", "title": "Cohort b", "version": "0.1.0"}
    import hashlib

    checksum = hashlib.sha256(archive.read_bytes()).hexdigest()
    assert f"sha256 {checksum}" in built.stdout
    assert (tmp_path / "dist" / "cohort-b.zip.sha256").read_text().split()[0] == checksum
    assert "left out (5): .git/HEAD, .gitignore, basics/01-status-classes.yaml~, schema/" in built.stdout

    refused = cli("pack", "install", str(archive), home=home)
    assert refused.returncode == 1 and "--trust" in refused.stderr  # its build-it lesson runs code
    installed_ = cli("pack", "install", str(archive), "--trust", home=home)
    assert installed_.returncode == 0, installed_.stdout + installed_.stderr
    assert "installed cohort-b 0.1.0" in installed_.stdout
    listed = cli("pack", "list", home=home)
    assert listed.stdout.split()[:3] == ["cohort-b", "0.1.0", "Cohort"]
    assert "[runs code]" in listed.stdout
    info = cli("pack", "info", "cohort-b", home=home)
    assert info.returncode == 0 and "Cohort b  (cohort-b 0.1.0)" in info.stdout

    _open_in_the_app(home / "packs" / "cohort-b", home)

    removed = cli("pack", "remove", "cohort-b", home=home)
    assert removed.returncode == 0 and "progress in it is kept" in removed.stdout
    assert not (home / "packs" / "cohort-b").exists()
    assert "no packs installed" in cli("pack", "list", home=home).stdout


def _open_in_the_app(root: Path, home: Path) -> None:
    """The installed pack opens in the app (Pilot), and a step's instructor notes never reach the screen."""
    import asyncio
    import html

    from tutor.app import make_app

    def screen_text(app) -> str:
        return html.unescape(app.export_screenshot()).replace("\xa0", " ")

    async def run() -> None:
        app = make_app(root, Home(home))
        try:
            async with app.run_test(size=(120, 40)) as pilot:
                await pilot.pause()
                await app.workers.wait_for_complete()
                assert app.index.id == "cohort-b"
                assert "What a status code says" in screen_text(app)
                app.open_lesson("status-classes", "conflict")
                for _ in range(5):
                    await pilot.pause()
                    await app.workers.wait_for_complete()
                shown = screen_text(app)
                assert "Which 4xx?" in shown
                assert "A step can have notes too" not in shown
                assert "For instructors only" not in shown
        finally:
            app.close_sessions()
            app.store.close()

    asyncio.run(run())


def _write_pack(
    root: Path,
    version: str,
    lessons: dict[str, list[str]],
    renamed: str = "",
    steps_renamed: dict[str, str] | None = None,
    min_tutor: str = "0.1.0",
) -> Path:
    root.mkdir(parents=True)
    (root / "pack.yaml").write_text(
        f"id: upg\ntitle: Upgrades\nversion: {version}\nmin_tutor_version: {min_tutor}\n{renamed}"
        "tracks:\n  - {id: basics, title: Basics}\n"
    )
    (root / "basics").mkdir()
    for number, (lesson_id, step_ids) in enumerate(lessons.items(), start=1):
        steps = "".join(
            f"  - id: {s}\n    title: {s}\n    text: t\n    check: {{kind: text, accept: [ok]}}\n"
            f"    solution: {{answer: ok}}\n    wrong_answers: [{{answer: nope}}]\n"
            for s in step_ids
        )
        extra = f"renamed: {json.dumps(steps_renamed)}\n" if steps_renamed and lesson_id in ("b", "bee") else ""
        (root / "basics" / f"0{number}-{lesson_id}.yaml").write_text(
            f"id: {lesson_id}\ntitle: {lesson_id}\ntrack: basics\n{extra}steps:\n{steps}"
        )
    return root


def test_upgrade_keeps_progress_follows_a_rename_and_hides_removed(tmp_path: Path) -> None:
    home = Home(tmp_path / "home")
    v1 = _write_pack(tmp_path / "v1", "1.0.0", {"a": ["s1", "s2"], "b": ["old-step", "t2"], "c": ["x"]})
    install(v1, home)
    with ProgressStore.open(home.progress_db) as store:
        for lesson, step in [("a", "s1"), ("b", "old-step"), ("b", "t2"), ("c", "x")]:
            store.record_attempt("upg", "1.0.0", lesson, step, passed=True)
    v2 = _write_pack(
        tmp_path / "v2",
        "2.0.0",
        {"a": ["s1", "s2"], "bee": ["new-step", "t2"]},
        renamed="renamed: {b: bee}\n",
        steps_renamed={"old-step": "new-step"},
    )
    report = install(v2, home)
    assert report.previous_version == "1.0.0"
    assert report.moved == [("b", "bee"), ("bee/old-step", "bee/new-step")]
    assert report.hidden == ["c"]
    with ProgressStore.open(home.progress_db) as store:
        steps = store.pack_steps("upg")
    assert steps["a"]["s1"].passed  # unchanged ids keep their progress
    assert steps["bee"]["new-step"].passed and steps["bee"]["t2"].passed  # the rename followed
    assert "b" not in steps
    assert steps["c"]["x"].passed  # removed lesson: kept, not shown
    again = install(v2, home)  # idempotent
    assert again.moved == []


def test_older_version_and_newer_tutor_are_refused(tmp_path: Path) -> None:
    home = Home(tmp_path / "home")
    install(_write_pack(tmp_path / "v2", "2.0.0", {"a": ["s"]}), home)
    with pytest.raises(InstallError, match=r"upg 2\.0\.0 is installed, which is newer than 1\.0\.0; use --force"):
        install(_write_pack(tmp_path / "v1", "1.0.0", {"a": ["s"]}), home)
    with pytest.raises(InstallError) as caught:
        install(_write_pack(tmp_path / "v9", "9.0.0", {"a": ["s"]}, min_tutor="99.0.0"), home)
    assert any(
        f"this pack needs backend-tutor 99.0.0 or newer; this is {__version__}" in p for p in caught.value.problems
    )
    assert find("upg", home).version == "2.0.0"  # type: ignore[union-attr]


def _zip(path: Path, entries: dict[str, bytes], link: str | None = None) -> Path:
    with zipfile.ZipFile(path, "w") as bundle:
        for name, data in entries.items():
            bundle.writestr(name, data)
        if link is not None:
            info = zipfile.ZipInfo(link)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            bundle.writestr(info, "/etc/passwd")
    return path


def _snapshot(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*")}


GOOD = {
    "pack.yaml": b"id: z\ntitle: Z\nversion: 1.0.0\ntracks:\n  - {id: basics, title: B}\n",
    "basics/01-a.yaml": b"id: a\ntitle: A\ntrack: basics\nsteps:\n  - {id: s, title: S, text: t, "
    b"check: {kind: text, accept: [y]}, solution: {answer: y}, wrong_answers: [{answer: n}]}\n",
}


@pytest.mark.parametrize(
    ("entries", "link", "message"),
    [
        ({**GOOD, "../evil.yaml": b"x"}, None, "outside the pack folder"),
        ({**GOOD, "/tmp/evil.yaml": b"x"}, None, "outside the pack folder"),
        ({**GOOD, "basics/../../evil.yaml": b"x"}, None, "outside the pack folder"),
        (GOOD, "basics/link.yaml", "only plain files"),
    ],
    ids=["dotdot", "absolute", "nested-dotdot", "symlink"],
)
def test_hostile_zips_are_refused_and_write_nothing(tmp_path: Path, entries, link, message) -> None:
    home = Home(tmp_path / "home")
    archive = _zip(tmp_path / "bad.zip", entries, link)
    before = _snapshot(tmp_path)
    with pytest.raises(InstallError, match=message):
        install(archive, home)
    after = _snapshot(tmp_path)
    assert after - before <= {"home", "home/packs"}  # at most the empty packs folder
    assert not list(home.packs.iterdir())
    assert not (tmp_path / "evil.yaml").exists()


def test_zip_bomb_and_too_many_files_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = Home(tmp_path / "home")
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
        for name, data in GOOD.items():
            bundle.writestr(name, data)
        bundle.writestr("data/zeros.sql", b"\0" * (210 * 1024 * 1024))  # 200 KiB compressed, 210 MiB unpacked
    assert bomb.stat().st_size < 1024 * 1024
    with pytest.raises(InstallError, match="unpacks to more than 200 MiB"):
        install(bomb, home)
    monkeypatch.setattr("tutor.pack.archive.MAX_FILES", 3)
    many = _zip(tmp_path / "many.zip", {**GOOD, "a.txt": b"1", "b.txt": b"2"})
    with pytest.raises(InstallError, match="holds 4 entries; a pack may hold at most 3"):
        install(many, home)
    assert not list(home.packs.iterdir())


def test_a_changed_file_in_a_built_zip_is_refused(tmp_path: Path) -> None:
    from tutor.pack.build import build_zip
    from tutor.pack.loader import load_pack

    source = tmp_path / "src"
    for name, data in GOOD.items():
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        (source / name).write_bytes(data)
    pack = load_pack(source).pack
    assert pack is not None
    archive = build_zip(pack, tmp_path / "z.zip").archive
    tampered = tmp_path / "tampered.zip"
    with zipfile.ZipFile(archive) as src, zipfile.ZipFile(tampered, "w") as dst:
        for item in src.infolist():
            data = src.read(item)
            dst.writestr(
                item, data.replace(b"accept: [y]", b"accept: [n]") if item.filename.startswith("basics") else data
            )
    with pytest.raises(InstallError, match=r"basics/01-a\.yaml changed after the pack was built"):
        install(tampered, Home(tmp_path / "home"))
    assert install(archive, Home(tmp_path / "home")).pack.id == "z"


def _code_pack(root: Path) -> Path:
    for name, data in GOOD.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    return root


def test_a_pack_that_runs_code_needs_trust(tmp_path: Path) -> None:
    """The built-in pack has build-it lessons (the learner's app runs the pack's starter files and tests):
    a copy of it is a pack that runs code."""
    import shutil

    from tutor.code import trust

    root = tmp_path / "course"
    shutil.copytree(REPO / "lessons", root)
    manifest = root / "pack.yaml"  # its own id: the built-in pack's is not for another pack
    manifest.write_text(manifest.read_text().replace("id: backend-tutor-core", "id: course-copy", 1))
    home = Home(tmp_path / "home")
    with pytest.raises(InstallError, match=r"runs Python code from the pack on this machine.*--trust"):
        install(root, home)
    assert not (home.packs / "course-copy").exists()
    report = install(root, home, trust=True)
    assert report.pack.runs_code
    installed_pack = load_pack_ok(home.packs / "course-copy")
    assert trust.is_trusted(home, installed_pack)  # the app will not ask again for this content
    listed = cli("pack", "list", home=home.root)
    assert "[runs code]" in listed.stdout
    info = cli("pack", "info", str(root), home=home.root)
    assert "runs code: yes" in info.stdout


def load_pack_ok(root: Path):
    from tutor.pack.loader import load_pack

    result = load_pack(root)
    assert result.pack is not None
    return result.pack


def test_runs_code_is_read_from_code_kinds_and_build_lessons(tmp_path: Path) -> None:
    from tutor.pack.checks import CODE_KINDS
    from tutor.pack.install import CODE_KINDS as RAW_CODE_KINDS
    from tutor.pack.install import runs_code_raw

    assert RAW_CODE_KINDS == CODE_KINDS
    root = _code_pack(tmp_path / "p")
    assert not runs_code_raw(root)
    (root / "basics" / "02-build.yaml").write_text(
        "id: b\ntitle: B\ntrack: basics\nsteps:\n  - id: s\n    check: {kind: all, checks: [{kind: code_tests}]}\n"
    )
    assert runs_code_raw(root)
    assert runs_code_raw(REPO / "lessons")


def test_a_pack_published_as_a_wheel_is_found(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A distribution on sys.path with an entry point in `backend_tutor.packs` (a wheel unpacked as pip
    --target would leave it): its pack is listed and opens by id."""
    site = tmp_path / "site"
    package = site / "acme_pack"
    _code_pack(package)
    (package / "__init__.py").write_text("")
    dist = site / "acme_pack-1.0.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-pack\nVersion: 1.0.0\n")
    (dist / "entry_points.txt").write_text("[backend_tutor.packs]\nz = acme_pack\n")
    (dist / "RECORD").write_text("")
    monkeypatch.syspath_prepend(str(site))
    home = Home(tmp_path / "home")
    entries = installed(home)
    assert [(e.id, e.source) for e in entries] == [("z", "wheel acme-pack")]
    assert find("z", home).root == package  # type: ignore[union-attr]
    listed = cli("pack", "list", home=home.root, env={"PYTHONPATH": str(site)})
    assert "z  1.0.0     Z  (wheel acme-pack)" in listed.stdout
    validated = cli("pack", "validate", "z", home=home.root, env={"PYTHONPATH": str(site)})
    assert validated.returncode == 0, validated.stdout + validated.stderr
    install(_code_pack(tmp_path / "local"), home)  # an installed folder with the same id wins
    assert [e.source for e in installed(home)] == ["installed"]
    remove("z", home)
    assert [e.source for e in installed(home)] == ["wheel acme-pack"]


def test_unknown_pack_id_names_the_installed_ones(tmp_path: Path) -> None:
    home = tmp_path / "home"
    result = cli("pack", "validate", "no-such-pack", home=home)
    assert result.returncode == 2
    assert "'no-such-pack' is neither a pack folder, a .zip, nor the id of an installed pack" in result.stderr


def test_the_wheel_pack_scan_is_cached_until_sys_path_changes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.metadata

    from tutor.pack.wheel_check import has_wheel_packs

    home = Home(tmp_path / "home")
    assert has_wheel_packs(home) is False
    assert (home.cache / "wheel-packs.json").is_file()

    def boom(**_: object) -> object:
        raise AssertionError("scanned again although nothing on sys.path changed")

    monkeypatch.setattr(importlib.metadata, "entry_points", boom)
    assert has_wheel_packs(home) is False
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.setattr(importlib.metadata, "entry_points", lambda **_: ["a pack"])
    assert has_wheel_packs(home) is True


def test_opening_a_new_version_from_a_folder_follows_its_renames(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cohort may get a new version as a folder or zip, not through install: opening it moves progress too."""
    import tutor.app
    from tutor.cli import open_tutor

    home = Home(tmp_path / "home")
    monkeypatch.setenv("BACKEND_TUTOR_HOME", str(home.root))
    with ProgressStore.open(home.progress_db) as store:
        store.record_attempt("upg", "1.0.0", "b", "old-step", passed=True)
    v2 = _write_pack(
        tmp_path / "v2",
        "2.0.0",
        {"bee": ["new-step"]},
        renamed="renamed: {b: bee}\n",
        steps_renamed={"old-step": "new-step"},
    )
    opened: list[Path | None] = []

    def build_only(path: Path | None) -> int:  # the app as `run` builds it, without running it
        opened.append(path)
        tutor.app.make_app(path).store.close()
        return 0

    monkeypatch.setattr(tutor.app, "run", build_only)
    assert open_tutor(v2) == 0
    assert opened == [v2]
    with ProgressStore.open(home.progress_db) as store:
        assert store.step("upg", "bee", "new-step").passed


def test_install_leaves_the_course_outline_ready_for_the_first_open(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first open of an installed pack reads its cached outline, not every lesson file."""
    import tutor.pack.index as index

    home = Home(tmp_path / "home")
    pack = _write_pack(tmp_path / "v1", "1.0.0", {"a": ["s1"], "b": ["t1"]})
    entry = install(pack, home).pack

    def no_reading(root: Path) -> index.PackIndex:
        raise AssertionError("the outline was read from the lesson files again")

    monkeypatch.setattr(index, "_read_index", no_reading)
    outline = index.read_index(entry.root, cache_dir=home.cache)
    assert [lesson.id for lesson in outline.lessons] == ["a", "b"]
