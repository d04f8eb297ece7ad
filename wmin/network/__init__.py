"""Network managers' dashboards: waits by site, trust, ICB and modality; the optimiser's runs."""
