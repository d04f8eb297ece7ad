"""Supply: ICBs, trusts, sites, scanners, the exam catalogue, and the network pool of slots.

Knows nothing of bookings: `booking` depends on `slots`, never the reverse.
"""
