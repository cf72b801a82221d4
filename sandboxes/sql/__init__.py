"""Lesson databases: deterministic generated tables, a cached template per definition, a fresh live copy
per lesson start, the guarded learner connection, query plans and VM-step costs. No Textual.

Public pieces other parts reuse:
    sandboxes.sql.sandbox.SqlSandbox      the runtime the session drives (live DB at `.path`)
    sandboxes.sql.plan.explain(conn, sql) EXPLAIN QUERY PLAN -> Plan (tree, full scans, index use)
    sandboxes.sql.cost.count_vm_steps     deterministic cost of a statement in SQLite VM steps
"""
