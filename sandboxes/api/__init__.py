"""The sandbox HTTP API a lesson runs against: a Starlette app built from the lesson's `sandboxes.api`
settings, its traffic recorder, and the embedded uvicorn runner (`sandbox.ApiSandbox`).

Import the submodules you need; this package imports nothing heavy by itself.
"""
