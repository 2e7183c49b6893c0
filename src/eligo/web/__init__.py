"""The coordinator's web app (`eligo serve`): check a patient, record attestations, work the cohort.

``create_app(trial=..., store=..., endpoint=..., token=...)`` builds the ASGI app (see docs/serve.md).
Nothing in the library imports this package except the CLI.
"""

from eligo.web.app import create_app

__all__ = ["create_app"]
