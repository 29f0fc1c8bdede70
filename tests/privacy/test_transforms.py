"""Privacy transforms: hundred blocks, coarser points, salted hashes, decisions."""

from __future__ import annotations

import pytest

from civicport.privacy import apply_decision, coarsen_point, hash_value, hundred_block


@pytest.mark.parametrize(
    ("address", "block"),
    [
        ("1234 N Main St", "1200 BLOCK OF N MAIN ST"),
        ("7 Elm St", "0 BLOCK OF ELM ST"),
        ("99 Elm St", "0 BLOCK OF ELM ST"),
        ("100 Elm St", "100 BLOCK OF ELM ST"),
        ("45 Park Avenue Apt 2", "0 BLOCK OF PARK AVENUE"),
        ("12A Oak St #5", "0 BLOCK OF OAK ST"),
        ("250 Broadway Suite 4, New York", "200 BLOCK OF BROADWAY, NEW YORK"),
        ("123 Main St, Hartford, CT 06103", "100 BLOCK OF MAIN ST, HARTFORD, CT 06103"),
        ("1234-1236 W Elm Ave", "1200 BLOCK OF W ELM AVE"),
        ("133-22 89 Ave", "133-00 BLOCK OF 89 AVE"),
        ("12 1/2 Maple  Rd", "0 BLOCK OF MAPLE RD"),
    ],
)
def test_hundred_block(address: str, block: str) -> None:
    assert hundred_block(address) == block


@pytest.mark.parametrize(
    "text", ["MAIN ST", "100 BLOCK OF MAIN ST", "016XX W 77TH ST", "", "Corner of Elm and Oak"]
)
def test_hundred_block_leaves_text_without_a_house_number(text: str) -> None:
    assert hundred_block(text) == text


def test_coarsen_point() -> None:
    assert coarsen_point(-87.664263469, 41.753985135) == (-87.664, 41.754)
    assert coarsen_point(-87.664263469, 41.753985135, digits=2) == (-87.66, 41.75)
    assert coarsen_point(-87.6, 41.7) == (-87.6, 41.7)
    with pytest.raises(ValueError, match="digits"):
        coarsen_point(1.0, 2.0, digits=-1)


def test_hash_value_is_stable_per_salt() -> None:
    a = hash_value("jane@example.org", salt="s1")
    assert a == hash_value("jane@example.org", salt="s1")
    assert len(a) == 16
    assert all(c in "0123456789abcdef" for c in a)
    assert a != hash_value("jane@example.org", salt="s2")
    assert a != hash_value("bob@example.org", salt="s1")
    with pytest.raises(ValueError, match="salt"):
        hash_value("jane@example.org", salt="")


def test_apply_decision() -> None:
    assert apply_decision("accept", "person_name", "Maria Lopez") == "Maria Lopez"
    assert apply_decision("drop", "email", "jane@example.org") is None
    assert apply_decision("hash", "email", "jane@example.org", salt="s") == hash_value(
        "jane@example.org", salt="s"
    )
    assert apply_decision("hash", "email", None, salt="s") is None
    assert apply_decision("generalize", "street_address", "1234 N Main St") == (
        "1200 BLOCK OF N MAIN ST"
    )
    assert apply_decision("generalize", "exact_location", (-87.664263, 41.753985)) == (
        -87.664,
        41.754,
    )
    assert apply_decision("generalize", "exact_location", 41.753985, digits=2) == 41.75
    assert apply_decision("generalize", "small_count", 3) is None
    assert apply_decision("generalize", "small_count", 12) == 12
    with pytest.raises(ValueError, match="salt"):
        apply_decision("hash", "email", "x@y.org")
    with pytest.raises(ValueError, match="cannot be generalised"):
        apply_decision("generalize", "email", "x@y.org")
    with pytest.raises(ValueError, match="unknown decision"):
        apply_decision("blur", "email", "x@y.org")
