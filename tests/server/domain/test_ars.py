import pytest

from server.domain.ars import ags, nina_dashboard_key, validate_ars
from server.domain.errors import ValidationFailed


def test_valid_ars_and_derived_keys():
    assert validate_ars(" 150020000000 ") == "150020000000"
    assert nina_dashboard_key("150855555555") == "150850000000"
    assert ags("150850235235") == "15085235"


@pytest.mark.parametrize(
    "bad", ["15002000000", "1500200000000", "15002000000x", "", "990020000000"]
)
def test_malformed_ars_is_refused(bad):
    with pytest.raises(ValidationFailed) as exc:
        validate_ars(bad)
    assert "ars" in exc.value.field_errors


def test_places_and_warning_area_codes_differ_only_in_the_bund_code():
    from server.domain.ars import (
        InvalidArs,
        ars_covers,
        is_area_code,
        is_ars,
        significant_prefix,
        validate_area_code,
    )

    assert validate_area_code("000000000000") == "000000000000"
    assert is_area_code("000000000000") and not is_ars("000000000000")
    with pytest.raises(InvalidArs) as exc:
        validate_ars("000000000000", field="display_ars")
    assert "Länderschlüssel" in exc.value.field_errors["display_ars"]
    assert significant_prefix("000000000000") == ""
    assert ars_covers("000000000000", "150850235235")  # a national warning covers everyone
    assert ars_covers("150850000000", "150850235235")
    assert not ars_covers("150850235235", "150850000000")
    for bad in ("990000000000", "15085023523", "1508502352355"):
        assert not is_area_code(bad)


def test_one_implementation_for_the_alerts_package():
    import server.domain.alerts as alerts
    import server.domain.ars as ars

    assert alerts.validate_ars is ars.validate_ars
    assert alerts.ars_covers is ars.ars_covers
    assert alerts.InvalidArs is ars.InvalidArs


def test_grouped_input_is_accepted_for_places_but_not_inside_message_codes():
    from server.domain.ars import is_area_code

    assert validate_ars("15 08 5 0235 235") == "150850235235"
    assert not is_area_code("15 08 5 0235 235")
