"""Settings for the textbook comparator: the benchmark's settings for ours (same middleware,
cache, throttles and database), with the textbook's URLs instead of the project's, and DRF's
stock JSON renderer, as a tutorial leaves it."""

from benchmarks.settings import *  # noqa: F403
from benchmarks.settings import REST_FRAMEWORK

ROOT_URLCONF = "benchmarks.textbook.urls"
REST_FRAMEWORK = {
    **REST_FRAMEWORK,
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
}
