"""HTTP: the application assembled in one place, and what every HTTP door shares (dependencies,
problem responses, body limits). Doors (api, fhir, web) import from here, never from each other."""
