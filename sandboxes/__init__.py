"""Live sandboxes a lesson runs against: SQLite lesson databases (sql) and the HTTP API (api).

Nothing here imports Textual; the app shows what these produce.
"""
