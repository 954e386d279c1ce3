"""The web dashboard (FastAPI + Jinja2 + htmx + SSE): `create_app(settings, db, bus)` in app.py.

Module map:
  app.py        create_app: middleware, routers, error handlers, housekeeping
  context.py    WebContext: settings, db, bus, sessions, limiter, services, templates (app.state.web)
  deps.py       Annotated dependencies: Ctx, ServicesDep, OptionalUser, CurrentUser, GuildAccess, ClientIp
  services.py   what pages and API do: servers_for, guild_status, queue_page, history, act
  views.py      the dataclasses services return, each with .json() in the API's shape
  actions.py    the API's control bodies and their translation to the bus vocabulary
  sessions.py   server-side sessions and the cookie;  crypto.py: token encryption, hashing
  csrf.py       the app-wide CSRF guard;  middleware.py: security headers;  errors.py: error pages/JSON
  ratelimit.py  per-user and per-address limits (memory or Redis)
  routes/       api.py (JSON), docs.py (/docs); auth and live events join them
  templates/, static/   the pages' Jinja2 templates and static files

web imports core and db, never bot or sandbox: it meets the bot only in the database (the bus).
"""
