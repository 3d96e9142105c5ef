"""rootrepair: repair gaps in root segmentation masks and measure root traits.

Importing this package is cheap: it pulls in neither torch nor the trait stack.
"""
from rootrepair._version import __version__
from rootrepair.errors import RootRepairError

__all__ = ["__version__", "RootRepairError"]
