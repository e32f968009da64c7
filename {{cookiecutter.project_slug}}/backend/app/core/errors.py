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
    """No user has the requested id, or the caller may not see that user."""

    code = "user_not_found"
    message = "User not found."


class NotAuthenticated(DomainError):
    """The request carries no access token."""

    code = "not_authenticated"
    message = "Not authenticated."


class InvalidToken(DomainError):
    """An access or refresh token that is malformed, forged, expired, revoked or unknown."""

    code = "invalid_token"
    message = "The token is invalid or has expired."


class InvalidCredentials(DomainError):
    """A login with an unknown email or a wrong password: the two are never told apart."""

    code = "invalid_credentials"
    message = "Incorrect email or password."


class UserInactive(DomainError):
    """The account has been deactivated."""

    code = "user_inactive"
    message = "This account is deactivated."


class Forbidden(DomainError):
    """The caller is authenticated but may not do this."""

    code = "forbidden"
    message = "You are not allowed to do this."
