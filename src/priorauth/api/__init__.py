"""The REST door: FastAPI app factory (`create_app`), /v1 routes, problem details, shared dependencies."""
