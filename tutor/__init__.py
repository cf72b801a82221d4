"""backend-tutor: learn backend engineering on real systems running on your own machine.

This package is imported by every command, so it must stay cheap: no imports here.
"""

__version__ = "0.1.0"
