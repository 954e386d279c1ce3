"""The dashboard for server managers: permissions (with the explainer), settings, the audit log, stats.

Only members the one permission policy lets change settings see these pages (404 otherwise) and use
their API (403); the decision is the bot's `explain()` on the bot's published view of the member.
"""
