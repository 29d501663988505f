"""The workflows as data, and the small engine over `transitions` that executes them.

Pure: nothing here imports a database, web or scheduler module.
"""
