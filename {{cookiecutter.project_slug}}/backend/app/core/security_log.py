"""Security events: one WARNING line each, on the `app.security` logger.

A line carries the request id (every log line does) and the user id when it is known; never an
email address, a password or a token.
"""

import logging

security_log = logging.getLogger("app.security")
