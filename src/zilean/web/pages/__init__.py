"""The dashboard's HTML pages (Jinja2 + htmx + SSE): routes.page_router(); the JSON API lives beside them."""
