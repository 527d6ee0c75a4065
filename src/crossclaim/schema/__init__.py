"""The annotation scheme, declared once, with the records and checks that follow from it."""
