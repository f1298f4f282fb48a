"""The root of trailbridge's own exceptions.

The engine raises these; only the service layer translates them to AWS error codes and messages.
"""


class TrailbridgeError(Exception):
    """Base class of every error trailbridge raises on purpose."""
