"""A stand-in for the 15 trusts' RIS: their feeds over MLLP (`feeds`, `player`), the HL7 they write
(`messages`), and the RIS end that answers the hub's SRM and SQM (`fake_ris`). Used by
`manage.py simulate_ris`, the tests and bench/hl7_ingest."""
