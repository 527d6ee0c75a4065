"""Label Studio JSON ↔ records, with validation: the gate every export passes before it becomes gold."""
