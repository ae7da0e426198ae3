"""Phone numbers as one person's key: parsed with Google's libphonenumber metadata and
written in E.164 (`+8613812345678`), so every way of writing a number gives one key.

A number written without a country code is read in a default region (the
`SALESFLOW_DEFAULT_PHONE_REGION` setting): `(415) 555-0100` is `+14155550100` in `US` and
a Beijing number in `CN`.
"""

import re
import unicodedata

import phonenumbers

DEFAULT_PHONE_REGION = "CN"

# Extensions are no part of the person's key; libphonenumber reads "ext." / "x" / "#",
# not the Chinese words for one.
_CHINESE_EXTENSION = re.compile(r"\s*(?:转|分机)\s*\d+\s*$")
# libphonenumber stops reading at this length; longer input is not a phone number.
_MAX_INPUT_CHARS = 250


def is_phone_region(region: str) -> bool:
    """Whether numbers can be read in `region` (an ISO 3166-1 alpha-2 code, upper case)."""
    return region in phonenumbers.SUPPORTED_REGIONS


def normalize_phone(raw: str | None, region: str = DEFAULT_PHONE_REGION) -> str | None:
    """The number in E.164, or None when `raw` is not a valid phone number.

    - `+`, `00` and a bare country code before a full national number are all read as the
      country code: `+86 138 1234 5678`, `0086 13812345678`, `8613812345678` and
      `138 1234 5678` (in CN) are one number.
    - A national trunk prefix is dropped, also when written after the country code:
      `+44 (0)20 7946 0958` and `020 7946 0958` (in GB) are `+442079460958`.
    - Full-width digits (Chinese input methods) fold to ASCII; an extension is dropped.
    - Valid means the number fits the numbering plan of its country (length and prefixes),
      which rules out typos such as a digit too many or too few.
    """
    if raw is None or len(raw) > _MAX_INPUT_CHARS:
        return None
    text = _CHINESE_EXTENSION.sub("", unicodedata.normalize("NFKC", raw)).strip()
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
