"""Shared library of the Smart Loan Recovery stages.

Stages (stages/<verb>.py) are thin entry points; everything they compute lives here
as pure functions on DataFrames and plain values, so tests can call it directly.
"""
