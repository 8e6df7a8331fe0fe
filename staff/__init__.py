"""The staff console: the bank's own web process beside the assistant (`python -m staff`).

Hotline staff follow up handoff requests; the risk team reads the trend report. It reads
the tracker store's database (SQLite by default, PostgreSQL in the scale-out profile),
listens on 127.0.0.1:5080 unless told otherwise, and is never part of the public Rasa
server. docs/staff.md: how it is built, the tables, and how a bank deploys it.

Like core/, nothing here imports Rasa: the process starts in about a second.
"""
