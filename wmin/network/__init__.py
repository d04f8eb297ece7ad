"""Network managers' pages: aggregates only, never a patient.

- `waits`       the measures per site, trust, ICB and modality, read from the database;
- `measures`    their definitions and maths (medians, 92nd percentiles, DM01 shares, rates);
- `snapshots`   the daily WaitSnapshot rows the pages read (`take_snapshot`, run by `tasks`);
- `spc`         Making Data Count SPC rules; `charts` the SVG geometry; `presenters` tables;
- `runs`        the optimiser's runs; `simulations` what-if runs (the simulator is
                wmin.simulation.whatif) and `results` their display; `exports` CSV downloads.
"""
