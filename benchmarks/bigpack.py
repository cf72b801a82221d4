"""Generate a big lesson pack from the built-in one, for the figures that grow with a pack's size.

Each generated lesson is a copy of a built-in lesson under a new id (prerequisites dropped), spread
over the built-in tracks, with the files the lessons refer to copied beside them.

    .venv/bin/python benchmarks/bigpack.py OUT_DIR [--lessons 1000]
"""

from __future__ import annotations

import argparse
import re
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUILTIN = ROOT / "lessons"


def generate(out: Path, lessons: int) -> Path:
    if out.exists():
        shutil.rmtree(out)
    shutil.copytree(BUILTIN, out, ignore=shutil.ignore_patterns("*.yaml"))
    shutil.copy(BUILTIN / "pack.yaml", out / "pack.yaml")
    text = (out / "pack.yaml").read_text(encoding="utf-8")
    (out / "pack.yaml").write_text(re.sub(r"^id: .*$", "id: generated-pack", text, count=1, flags=re.M), "utf-8")
    sources = sorted(p for p in BUILTIN.glob("*/*.yaml"))
    for number in range(lessons):
        source = sources[number % len(sources)]
        text = source.read_text(encoding="utf-8")
        lesson_id = re.search(r"^id: (\S+)", text, re.M)
        assert lesson_id is not None, source
        text = re.sub(r"^id: \S+", f"id: {lesson_id.group(1)}-{number}", text, count=1, flags=re.M)
        text = re.sub(r"^prerequisites:.*(?:\n[ \t]+- .*)*$", "prerequisites: []", text, flags=re.M)
        (out / source.parent.name / f"{number:04d}-{source.name}").write_text(text, encoding="utf-8")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--lessons", type=int, default=1000)
    args = parser.parse_args()
    generate(args.out, args.lessons)
    print(args.out)


if __name__ == "__main__":
    main()
