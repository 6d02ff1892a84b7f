"""The public surface: everything in __all__ exists, and the documented names are there."""

from __future__ import annotations

import importlib

import ezhengzhao


def test_all_names_resolve() -> None:
    for name in ezhengzhao.__all__:
        assert hasattr(ezhengzhao, name), name


def test_all_is_unique() -> None:
    assert len(set(ezhengzhao.__all__)) == len(ezhengzhao.__all__)


def test_documented_entry_points() -> None:
    for name in (
        "issue",
        "Verifier",
        "TrustStore",
        "SealedLicence",
        "Catalogue",
        "LicenceDraft",
        "VerificationResult",
        "Status",
        "EzhengzhaoError",
        "FetchError",
        "codes",
    ):
        assert name in ezhengzhao.__all__
    codes = importlib.import_module("ezhengzhao.codes")
    for name in (
        "is_valid_licence_id",
        "is_valid_uscc",
        "is_valid_id_number",
        "is_valid_region_code",
    ):
        assert callable(getattr(codes, name))
        assert getattr(codes, name)("not a code") is False


def test_every_library_error_is_an_ezhengzhao_error() -> None:
    errors = [getattr(ezhengzhao, n) for n in ezhengzhao.__all__ if n.endswith("Error")]
    assert len(errors) >= 15
    for error in errors:
        assert issubclass(error, ezhengzhao.EzhengzhaoError)
