"""trailbridge's own exceptions: one root, a few kinds the service layer maps to AWS error codes.

The engine raises these with the message AWS would show; only `services/` decides which AWS error code
(and HTTP status) a kind becomes, and only `aws/` serialises it.
"""


class TrailbridgeError(Exception):
    """Base class of every error trailbridge raises on purpose."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidInputError(TrailbridgeError):
    """A request parameter breaks a rule (AWS: ValidationException)."""


class StoreUnavailableError(TrailbridgeError):
    """The database cannot be reached or opened (at start-up: `trailbridge serve` says so and exits)."""


class NotFoundError(TrailbridgeError):
    """The named resource does not exist (AWS: ResourceNotFoundException)."""


class AlreadyExistsError(TrailbridgeError):
    """A resource of that name already exists (AWS: ResourceAlreadyExistsException)."""


class LimitExceededError(TrailbridgeError):
    """A quota would be exceeded (AWS: LimitExceededException)."""


class ConflictError(TrailbridgeError):
    """The resource is in a state that forbids the change (AWS: ConcurrentModificationException)."""


class ManagedRuleError(TrailbridgeError):
    """The rule is managed by another service (AWS: ManagedRuleException)."""


class AccessDeniedError(TrailbridgeError):
    """The caller's account may not act on that resource (AWS: AccessDeniedException)."""
