"""Project errors. The CLI turns these into one red line and exit code 1."""


class RootRepairError(Exception):
    """Something the user can fix: a bad file, a bad option, a missing model."""


class MaskReadError(RootRepairError):
    """A file could not be read as a mask. The message names the file and the reason."""
