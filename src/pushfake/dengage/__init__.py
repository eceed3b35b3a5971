"""The D·engage fake: `/rest/login`, `/rest/push/sendInstant` and the send report.

Layers as for Leanplum: `models`, `state`, `world`, `content` (language choice,
placeholders, dates), `audience`, `service` (rules; no HTTP), `errors`, `routes`.
"""
