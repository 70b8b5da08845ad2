"""ISO 4217: the currencies a studio may charge in, and how many decimals each has."""

from django.core.exceptions import ValidationError

# Active ISO 4217 codes with their minor-unit exponent; most have two decimals.
_NOT_TWO = {
    **dict.fromkeys(
        "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF".split(), 0
    ),
    **dict.fromkeys("BHD IQD JOD KWD LYD OMR TND".split(), 3),
    **dict.fromkeys("CLF UYW".split(), 4),
}
_TWO = (
    "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BOV BRL BSD BTN BWP BYN "
    "BZD CAD CDF CHE CHF CHW CNY COP COU CRC CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP "
    "GEL GHS GIP GMD GTQ GYD HKD HNL HTG HUF IDR ILS INR IRR JMD KES KGS KHR KPW KYD KZT LAK LBP "
    "LKR LRD LSL MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD NGN NIO NOK NPR "
    "NZD PAB PEN PGK PHP PKR PLN QAR RON RSD RUB SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN "
    "SVC SYP SZL THB TJS TMT TOP TRY TTD TWD TZS UAH USD USN UYU UZS VED VES WST XCD XCG YER ZAR "
    "ZMW ZWG"
).split()
EXPONENTS: dict[str, int] = {**dict.fromkeys(_TWO, 2), **_NOT_TWO}


def exponent(currency: str) -> int:
    """Decimals of `currency`'s minor unit (JPY 0, EUR 2, KWD 3)."""
    return EXPONENTS[currency.upper()]


def validate_currency_code(value: str) -> None:
    if value not in EXPONENTS:
        raise ValidationError(f"{value!r} is not an ISO 4217 currency code (e.g. EUR, USD, JPY).")
