"""The one error the runner stops on."""


class BenchmarkError(Exception):
    """A server, a request or a measurement went wrong: the run stops and says which."""
