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
  oauth.py      Discord's OAuth2 + PKCE client;  discord_tokens.py: refresh an expired Discord token
  live.py       SSE: per-process stream registry, shared renders, Last-Event-ID resume, bye
  server.py     uvicorn inside a process that owns its signals (zilean web / run)
  routes/       auth.py (/login /callback /logout), api.py (JSON), events.py (JSON SSE), me.py,
                docs.py (/docs), health.py (/healthz)
  pages/, manage/  the HTML pages and the managers' pages (built on deps and services)
  templates/, static/   the pages' Jinja2 templates and static files

web imports core and db, never bot or sandbox: it meets the bot only in the database (the bus).
"""
