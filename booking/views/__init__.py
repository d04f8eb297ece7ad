"""Pages by user: `patient/` for patients choosing their scan, `clerk/` for booking clerks."""
