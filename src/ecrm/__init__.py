"""eCRM: the customer layer of an online shop."""

__version__ = "0.1.0"
