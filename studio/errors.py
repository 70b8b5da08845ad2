class DomainError(Exception):
    """A request the platform refuses for a reason the user can act on.

    `code` is stable for API clients, `message` is for people, `status` is the HTTP status.
    """

    def __init__(self, code: str, message: str, *, status: int = 400):
        super().__init__(message)
        self.code, self.message, self.status = code, message, status

    def extra(self) -> dict:
        """Further JSON-ready facts for API clients (e.g. alternatives to a taken slot)."""
        return {}
