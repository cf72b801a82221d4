"""Subcommands of `backend-tutor`, one module per group, imported only when used."""
