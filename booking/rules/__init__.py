"""The network's rules, each in one place, in plain Python (no Django): wait standards, priority
weights, notice, distance. Models, the optimiser, the worklist, the dashboards and the simulator
all read them from here, so the product and its simulation cannot drift apart.
"""
