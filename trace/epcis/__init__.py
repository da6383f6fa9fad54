"""EPCIS 2.0 / CBV 2.0: vocabularies, event hash IDs, document validation and export."""
