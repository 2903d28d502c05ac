"""The stand-in fixtures (`start_standin`, `sonet`) live in tests/conftest.py: the pipeline's tests use them too."""
