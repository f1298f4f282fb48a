"""The one error the pattern engine raises for a bad pattern."""

from trailbridge.errors import TrailbridgeError

PREFIX = "Event pattern is not valid. Reason: "


class PatternError(TrailbridgeError, ValueError):
    """An event pattern EventBridge would reject; `reason` is AWS's text after "Reason: "."""

    def __init__(self, reason: str) -> None:
        super().__init__(PREFIX + reason)
        self.reason = reason
