"""The IETF Token Status List examples in ``../shared/vectors/token-status-list.json``.

Each vector gives ``bits``, ``size``, the non-zero statuses by index and the CBOR status list
map. Compressed bytes differ between zlib builds (the file's note), so decoded statuses are
compared, never ``lst`` bytes; re-encoding must decode to the same statuses.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import pytest

from ezhengzhao.formats import cbor
from ezhengzhao.status import StatusList
from tests.conftest import shared_vectors

VECTOR_IDS = ("1bit", "2bit", "1bit_long", "2bit_long", "4bit_long", "8bit_long")


@cache
def _vectors() -> dict[str, dict[str, Any]]:
    path = shared_vectors("token-status-list.json")
    document = json.loads(path.read_text(encoding="utf-8"))
    return {vector["name"]: vector for vector in document["vectors"]}


def _vector(name: str) -> dict[str, Any]:
    return _vectors()[name]


def _expected(vector: dict[str, Any]) -> bytes:
    """Every status, one byte per index: the non-zero ones from the file, zero elsewhere."""
    statuses = bytearray(vector["size"])
    for index, status in vector["statuses"].items():
        statuses[int(index)] = status
    return bytes(statuses)


def _decode(vector: dict[str, Any]) -> StatusList:
    value = cbor.loads_strict(bytes.fromhex(vector["status_list_cbor_hex"]))
    return StatusList.from_cbor_map(value)


def test_the_file_holds_exactly_the_known_vectors() -> None:
    assert set(_vectors()) == set(VECTOR_IDS)


@pytest.mark.parametrize("name", VECTOR_IDS)
def test_decoded_statuses_match(name: str) -> None:
    vector = _vector(name)
    status_list = _decode(vector)
    assert status_list.bits == vector["bits"]
    assert status_list.size == vector["size"]
    assert status_list.unpacked() == _expected(vector)
    for index, status in vector["statuses"].items():
        assert status_list.get(int(index)) == status
    # The neighbours of every set entry stay VALID, whatever the packing.
    for index in map(int, vector["statuses"]):
        for neighbour in (index - 1, index + 1):
            if 0 <= neighbour < vector["size"] and str(neighbour) not in vector["statuses"]:
                assert status_list.get(neighbour) == 0


@pytest.mark.parametrize("name", VECTOR_IDS)
def test_re_encoding_round_trips(name: str) -> None:
    vector = _vector(name)
    status_list = _decode(vector)
    encoded = cbor.dumps(status_list.to_cbor_map())
    again = StatusList.from_cbor_map(cbor.loads_strict(encoded))
    assert again == status_list
    assert again.unpacked() == _expected(vector)


@pytest.mark.parametrize("name", VECTOR_IDS)
def test_building_from_the_statuses_gives_the_same_list(name: str) -> None:
    vector = _vector(name)
    builder = StatusList.new(vector["size"], vector["bits"]).builder()
    for index, status in vector["statuses"].items():
        builder.set(int(index), status)
    assert builder.build() == _decode(vector)
