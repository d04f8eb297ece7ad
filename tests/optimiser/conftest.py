"""Fixtures for the optimiser's and the offers' database tests."""

import pytest

from tests.factories import ExamTypeFactory, ModalityFactory


@pytest.fixture
def ct():
    return ModalityFactory(code="CT")


@pytest.fixture
def ct_exam(ct):
    return ExamTypeFactory(modality=ct, preparation_lead_days=0)
