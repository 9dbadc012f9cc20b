"""OpenAPI for the account endpoints."""

from typing import Any, Literal

from apps.core.schema import AutoSchema


class DeleteWithBodySchema(AutoSchema):
    """The project's schema, with a request body documented for DELETE as well.

    ``DELETE users/me/`` takes the current password in its body; drf-spectacular documents a
    body only for POST, PUT and PATCH.
    """

    def takes_body(self) -> bool:
        return self.method == "DELETE" or super().takes_body()

    def _get_request_body(self, direction: Literal["request", "response"] = "request") -> Any:
        if self.method != "DELETE":
            return super()._get_request_body(direction)
        self.method = "POST"
        try:
            return super()._get_request_body(direction)
        finally:
            self.method = "DELETE"
