"""The project's benchmark: seeded test books (genbook) and the runner (`python -m bench`)."""
