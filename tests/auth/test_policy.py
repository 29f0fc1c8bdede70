"""Who may see and change a dataset, for every role and audience (the rules, without HTTP)."""

from __future__ import annotations

import dataclasses

import pytest

from civicport.auth.policy import can_write, visible_to
from civicport.auth.principal import Principal
from civicport.catalog.store import get_dataset

ADMIN = Principal(1, "admin@city.gov", "admin", None)
HEALTH_PUBLISHER = Principal(2, "pub@city.gov", "publisher", "Health")
POLICE_PUBLISHER = Principal(3, "cop@city.gov", "publisher", "Police")
VIEWER = Principal(4, "staff@city.gov", "viewer", "Health")

# audience → who sees it (None is an anonymous reader)
SEES = {
    "public": {None, ADMIN, HEALTH_PUBLISHER, POLICE_PUBLISHER, VIEWER},
    "internal": {ADMIN, HEALTH_PUBLISHER, POLICE_PUBLISHER, VIEWER},
    "private": {ADMIN, HEALTH_PUBLISHER},
}
WRITERS = {ADMIN, HEALTH_PUBLISHER}


@pytest.fixture
def health_dataset(make_dataset, engine):
    dataset_id = make_dataset(title="Clinics", department="Health")
    with engine.connect() as conn:
        return get_dataset(conn, dataset_id)


@pytest.mark.parametrize("audience", list(SEES))
@pytest.mark.parametrize(
    "principal", [None, ADMIN, HEALTH_PUBLISHER, POLICE_PUBLISHER, VIEWER], ids=repr
)
def test_visibility_and_writes_by_role_and_audience(health_dataset, audience, principal) -> None:
    record = dataclasses.replace(health_dataset, audience=audience)
    assert visible_to(principal, record) == (principal in SEES[audience])
    if principal is not None:
        assert can_write(principal, record) == (principal in WRITERS)
