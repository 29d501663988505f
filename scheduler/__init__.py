"""Deadlines that enforce themselves: the sweeps, outbox delivery and their APScheduler wiring."""
