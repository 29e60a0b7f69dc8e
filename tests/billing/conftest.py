"""Billing fixtures: the fake Stripe API server, and the API app of tests/api."""

from tests.api.conftest import api  # noqa: F401
from tests.billing.fake_stripe import fake_stripe  # noqa: F401
