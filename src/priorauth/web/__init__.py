"""Server-rendered pages for provider staff and clinical reviewers (Jinja2 + HTMX).

The pages are a door like the API: they turn form input into facts, call the
engine and the service layer, and render the result. No policy logic lives here.
"""
