"""Pure-Python heart of Energy Ledger.

Nothing under this package imports Home Assistant: protocol parsing, payload schemas and ledger
arithmetic live here so they can be tested and benchmarked without a running Home Assistant.
"""
