"""Bounds on what one write may hold, so that a request's cost has a ceiling."""

# Options of one attribute, in one write (a shoe size scale has a few dozen).
ATTRIBUTE_MAX_OPTIONS = 500
# Attributes of one product type.
PRODUCT_TYPE_MAX_ATTRIBUTES = 100
