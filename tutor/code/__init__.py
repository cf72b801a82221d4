"""Build-it steps: the learner's own code, in a workspace folder, run out of process and probed.

workspace.py  the learner's folder: starter files laid down once, never overwritten once edited
runner.py     starts the learner's app (or the pack's tests) in a child process, safely
harness.py    what runs inside that child: imports the learner's module, counts its SQL, serves it
watch.py      re-runs a step's check on every save (watchfiles)
trust.py      which packs run code, and which of those the learner agreed to

No Textual here (tests/test_layering.py).
"""
