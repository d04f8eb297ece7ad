"""`make demo`: set up a working network with synthetic demand, and run every process it needs."""
