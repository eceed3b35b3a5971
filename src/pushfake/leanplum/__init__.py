"""The Leanplum fake: `/api` with `start`, `sendMessage`, `multi` and the actions SDKs batch.

Layers: `models` (records), `state` (records in the store), `world` (fixtures), `rules`
(targeting and templates), `actions` (what each action does; no HTTP), `auth` and `limits`
(who may call, how often), `dispatch` (the spec-driven action table), `errors` (the one
renderer of Leanplum's envelope), `routes` (Starlette plumbing).
"""
