"""The forms and panels of the guest operations, one per module."""
