"""Pure helpers that belong to no app (no models, no Django app registry)."""
