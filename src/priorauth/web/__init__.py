"""Server-rendered pages for provider staff and clinical reviewers (Jinja2 + HTMX).

The pages are a door like the API: they turn form input into facts, call the
service layer (which decides), and render the result. No policy logic lives here.
A stored request is shown under the policy version that decided it.
"""
