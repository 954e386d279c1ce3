"""The dashboard's routers: auth (login/logout), api (JSON), live (SSE), docs (OpenAPI UI)."""
