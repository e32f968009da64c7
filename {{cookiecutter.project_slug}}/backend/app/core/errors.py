"""Domain errors: what went wrong, in the application's terms. The API maps them to HTTP."""


class DomainError(Exception):
    """Base of the errors a client can cause; `code` is stable and machine-readable."""

    code = "domain_error"
    message = "The request could not be completed."

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or self.message)
        self.message = message or self.message


class NotFound(DomainError):
    """Nothing the caller may see has this id: a row that does not exist and someone else's get
    the same answer. The API answers 404; an error of your own for a kind of row subclasses it."""

    code = "not_found"
    message = "Not found."


class Conflict(DomainError):
    """The change contradicts what is stored, such as a unique value already taken. The API
    answers 409; an error of your own for such a rule subclasses it."""

    code = "conflict"
    message = "The request conflicts with what is stored."


class EmailAlreadyRegistered(Conflict):
    """Another account already uses this email address (compared case-insensitively)."""

    code = "email_already_registered"
    message = "A user with this email address already exists."


class UserNotFound(NotFound):
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


class LastSuperuser(Conflict):
    """The change would leave no active superuser to manage the service."""

    code = "last_superuser"
    message = "This is the last active superuser."


class TooManyAttempts(DomainError):
    """Too many failed logins for this account or from this address: wait `retry_after` s."""

    code = "too_many_attempts"
    message = "Too many failed logins; try again later."

    def __init__(self, retry_after: int) -> None:
        super().__init__()
        self.retry_after = retry_after


class InvalidRequest(DomainError):
    """A token request that lacks a parameter or repeats one (RFC 6749, section 5.2)."""

    code = "invalid_request"
    message = "The token request is missing a parameter or has a malformed one."


class UnsupportedGrantType(DomainError):
    """A token request for a grant this service does not issue tokens for."""

    code = "unsupported_grant_type"
    message = "grant_type must be `password` or `refresh_token`."


class WrongPassword(DomainError):
    """The current password given to change it is not the account's."""

    code = "wrong_password"
    message = "The current password is incorrect."


class ReauthenticationRequired(DomainError):
    """The action needs a password login more recent than REAUTH_MAX_AGE_MINUTES."""

    code = "reauthentication_required"
    message = "Log in with your password again to do this."


class InvalidResetToken(DomainError):
    """A password-reset token that is unknown, used up or expired."""

    code = "invalid_reset_token"
    message = "The password reset link is invalid or has expired."


class InvalidVerificationToken(DomainError):
    """An email-verification token that is unknown, used up or expired."""

    code = "invalid_verification_token"
    message = "The verification link is invalid or has expired."


class EmailUnverified(DomainError):
    """A password login to an account whose email is not verified, while that is required."""

    code = "email_unverified"
    message = "Verify your email address first: follow the link that was sent to it."
