"""Prometheus metrics and health checks shared by the bot and the dashboard (neither imports the other).

    registry.py   a registry per component (with process metrics) and its text exposition
    access.py     who may read /metrics: allow-listed client addresses or a METRICS_TOKEN bearer
    bus.py        the bus gauges (pending commands, the oldest one's age), read at scrape time
    server.py     the bot process's own small HTTP server: /metrics, /healthz, /readyz (METRICS_PORT)
    names.py      every metric name the code exports (the Grafana dashboard is checked against it)

The bot's collectors live in zilean.bot.metrics, the dashboard's in zilean.web.metrics.
"""
