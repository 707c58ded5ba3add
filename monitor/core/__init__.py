"""The bottom layer: configuration, the clock, the records, the HTTP-fault policy.

Nothing here imports any other part of the project; every layer above may import it.
"""
