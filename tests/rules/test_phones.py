"""Phone numbers as duplicate-detection keys: one E.164 key however a number is written."""

import pytest

from app.rules.phones import is_phone_region, normalize_phone


def fullwidth(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ("138 1234 5678", "+8613812345678"),
        ("+86 138-1234-5678", "+8613812345678"),
        ("0086 13812345678", "+8613812345678"),
        ("8613812345678", "+8613812345678"),
        ("(+86)13812345678", "+8613812345678"),
        ("+86 (0)10 1234 5678", "+861012345678"),
        ("010-1234-5678", "+861012345678"),
        ("(021) 6123 4567 ext. 88", "+862161234567"),
        ("021-61234567转88", "+862161234567"),
        (fullwidth("138 1234 5678"), "+8613812345678"),  # Chinese input method
        ("+1 (415) 555-0100", "+14155550100"),
        ("001 415 555 0100", "+14155550100"),
        ("+44 (0)20 7946 0958", "+442079460958"),
        ("+44 20 7946 0958", "+442079460958"),
    ],
)
def test_every_way_of_writing_a_number_gives_its_e164_key(raw, key):
    assert normalize_phone(raw, "CN") == key


def test_a_national_number_is_read_in_the_region_given():
    assert normalize_phone("(415) 555-0100", "US") == "+14155550100"
    assert normalize_phone("020 7946 0958", "GB") == "+442079460958"
    # The same digits dialled in China are a Chinese number, not an American one.
    assert normalize_phone("(415) 555-0100", "CN") != "+14155550100"


@pytest.mark.parametrize(
    "raw", ["12345", "1381234567", "+44 20 7946 09", "+1 415 555 01000", "call me", "", "9" * 300]
)
def test_what_is_not_a_valid_number_has_no_key(raw):
    assert normalize_phone(raw, "CN") is None


def test_regions_are_iso_codes_libphonenumber_knows():
    assert is_phone_region("CN") and is_phone_region("US") and is_phone_region("GB")
    assert not is_phone_region("XX") and not is_phone_region("cn")
