from .selectors import employer_of


def works_for_a_studio(request) -> dict:
    """Whether the viewer is on a studio's team, for the pages' navigation."""
    return {"works_for_a_studio": employer_of(getattr(request, "user", None)) is not None}
