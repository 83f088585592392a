"""The REST door: /v1 routes and their OpenAPI body schemas (the app is assembled in priorauth.http.app)."""
