"""Domain errors: what went wrong, in the application's terms. The API maps them to HTTP."""


class DomainError(Exception):
    """Base of the errors a client can cause; `code` is stable and machine-readable."""

    code = "domain_error"
    message = "The request could not be completed."

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or self.message)
        self.message = message or self.message


class EmailAlreadyRegistered(DomainError):
    """Another account already uses this email address (compared case-insensitively)."""

    code = "email_already_registered"
    message = "A user with this email address already exists."


class UserNotFound(DomainError):
    """No user has the requested id."""

    code = "user_not_found"
    message = "User not found."
