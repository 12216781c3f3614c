"""Paddock: customer programmes admitted only when the support capacity exists."""

__version__ = "0.1.0"
