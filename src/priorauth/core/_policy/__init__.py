"""The policy language and policy files: model, loader, digest, registry."""
