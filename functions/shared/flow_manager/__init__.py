"""Flow Manager's domain: the flow language, validation, translation, storage, engine."""

# The package's version, one for everything (/health, the OpenAPI document). It is
# written here because the Lambda layer has no package metadata, and reading metadata
# costs ~100 ms of cold start; tests/unit/test_version.py keeps it equal to
# pyproject.toml and to importlib.metadata.version("flow-manager").
__version__ = "0.1.0"
